<?php
  /***
   * 3commas config
   * @author   xyvran@nwan.de
   * @version  0.4 20201214
   * @telegram @Xyvran
   * @github   https://github.com/Xyvran/3commasmaxbot
   *
   * Need following api rights: BOTS_READ, BOTS_WRITE
   *
   */

  // Show some more ;)
  // 0  = cronjob
  // 1  = some information
  // 10 = curl debug
  $config['system']['debug'] = 1;

  // Your 3commas API Key:
  $config['3commas']['apiKey'] = '{{HEX64}}';
  // Your 3commas API Secret Key:
  $config['3commas']['secretKey'] = 'eee65f53e9421ce50211670eae679f02e8d28a79023c39c200661fccd268a29a0d347301ef56e64dc3cd6089065c3146e80a9c222670bbe4f4c54977656cf2d133187c8df95247f2866028de71159b42b4ea410fb9102f29a422eb14ab2f2d0f0cc022238daceee2092f073ff80b9465aef7ac86d66c7a644fb12853ef86dcfa';

  // --- Account 1 ---
  // Account Name
  $account['name'] = 'Binance Future Account 1';
  // 3Commas Account ID
  $account['3commasid'] = 30512874;
  // Total Max Deals (Long + Short)
  $account['max_active_deals'] = 15;
  // Max Long Deals
  $account['max_active_deals_long'] = 10;
  // Max Short Deals
  $account['max_active_deals_short'] = 8;
  $config['accounts'][] = $account;
  unset($account);

  // --- Account 2 ---
  $account['name'] = 'Binance Future Account 2';
  $account['3commasid'] = 30519966;
  $account['max_active_deals'] = 20;
  $account['max_active_deals_long'] = 12;
  $account['max_active_deals_short'] = 14;
  $config['accounts'][] = $account;
  unset($account);

  // --- Account 3 ---
  $account['name'] = 'FTX Account 3';
  $account['3commasid'] = 30533410;
  $account['max_active_deals'] = 8;
  $account['max_active_deals_long'] = 8;
  $account['max_active_deals_short'] = 8;
  $config['accounts'][] = $account;
  unset($account);
