var config = {};
config.debug = true;
config.watch = {
  exchange: 'binance',
  currency: 'USDT',
  asset: 'BTC',
}
config.tradingAdvisor = {
  enabled: true,
  method: 'OMLBCTWithStopTradePaperTrade',
  candleSize: 60,
  historySize: 0,
}
config.production = true;
config.loggerAdapter = 'file';
config.connectManager = {
  enabled: true,
  baseApi: process.env.LIVE_TRADE_MANAGER_BASE_API,
  init: "/init",
  reconnect: "/reconnect",
  trigger: "/trigger",
  trade: "/trade",
  portfolio: "/portfolio"
}
config['OMLBCTWithStopTradePaperTrade'] = {
  stopLoss: -10,
  takeProfit: 2,
  amountForOneTrade: 100,
  expirationPeriod: 24,
  decisionThreshold: 0.5,
  stopTradeLimit: -100,
  breakDuration: -1,
}
config.paperTrader = {
  enabled: false,
  // report the profit in the currency or the asset?
  reportInCurrency: true,
  // start balance, on what the current balance is compared with
  simulationBalance: {
    // these are in the unit types configured in the watcher.
    asset: 0,
    currency: 5000,
  },
  // how much fee in % does each trade cost?
  feeMaker: 0.1,
  feeTaker: 0.1,
  feeUsing: 'maker',
  // how much slippage/spread should Gekko assume per trade?
  slippage: 0.05,
}
config.performanceAnalyzer = {
  enabled: true,
  riskFreeReturn: 5,
  roundTripReportMode: "BY_DOUBLESTOP_TRIGGER"
}
config.trader = {
  enabled: true,
  key: '{{KEY}}',
  secret: '{{SECRET}}',
  username: '', // your username, only required for specific exchanges.
  passphrase: '', // GDAX, requires a passphrase.
}
config.mailer = {
  enabled: true, // Send Emails if true, false to turn off
  sendMailOnStart: true, // Send 'Gekko starting' message if true, not if false

  email: 'gekko.trader.alerts@gmail.com', // Your Gmail address
  muteSoft: true, // disable advice printout if it's soft

  // You don't have to set your password here, if you leave it blank we will ask it
  // when Gekko's starts.
  password: 'gekkoAlerts2019', // Your Gmail Password - if not supplied Gekko will prompt on startup.

  tag: '[GEKKO] ', // Prefix all email subject lines with this

  server: 'smtp.gmail.com', // The name of YOUR outbound (SMTP) mail server.
  smtpauth: true, // Does SMTP server require authentication (true for Gmail)
  user: 'gekko.trader.alerts@gmail.com',
  from: 'Gekko Trading',
  to: 'trading.desk@example.com',
  ssl: true, // Use SSL (true for Gmail)
  port: '', // Set if you don't want to use the default port
}
config.telegrambot = {
  enabled: true,
  // Receive notifications for trades and warnings/errors related to trading
  emitTrades: true,
  token: '5118321417:AAt7s8Stqcbnr3yBdGBLEPH1qhT61qtc4xa',
  defaultSubcribes: [-393431991]
};
config['I understand that Gekko only automates MY OWN trading strategies'] = true;
module.exports = config;
