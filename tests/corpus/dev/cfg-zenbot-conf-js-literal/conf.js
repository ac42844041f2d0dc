var c = module.exports = {}

// mongo configuration
c.mongo = {}
c.mongo.db = 'zenbot4'

// Must provide EITHER c.mongo.connectionString OR c.mongo.host,port,username,password
c.mongo.connectionString = null

// The following is not needed when c.mongo.connectionString is provided:
c.mongo.host = 'localhost'
c.mongo.port = 27017
c.mongo.username = null
c.mongo.password = null
c.mongo.replicaSet = null
c.mongo.authMechanism = null

// default selector. only used if omitting [selector] argument from a command.
c.selector = 'binance.BTC-USDT'
// name of default trade strategy
c.strategy = 'trend_ema'

// Exchange API keys:

// to enable GDAX trading, enter your API credentials:
c.gdax = {}
c.gdax.key = 'YOUR-API-KEY'
c.gdax.b64secret = 'YOUR-BASE64-SECRET'
c.gdax.passphrase = 'YOUR-PASSPHRASE'

// to enable Binance trading, enter your API credentials:
c.binance = {}
c.binance.key = '{{KEY}}'
c.binance.secret = '{{SECRET}}'

// to enable Bittrex trading, enter your API credentials:
c.bittrex = {}
c.bittrex.key = 'YOUR-API-KEY'
c.bittrex.secret = '{{DECOY}}'
// make sure to give your API key access to only: "Trade Limit" and "Read Info",
// please note that this might change in the future.
// please note that bittrex API is limited, you cannot use backfills or sims (paper/live trading only)

// Optional stop-order triggers:

// sell if price drops below this % of bought price (0 to disable)
c.sell_stop_pct = 0
// buy if price surges above this % of sold price (0 to disable)
c.buy_stop_pct = 0
// enable trailing sell stop when reaching this % profit (0 to disable)
c.profit_stop_enable_pct = 0
// maintain a trailing stop this % below the high-water mark of profit
c.profit_stop_pct = 1

// Notifiers:
c.notifiers = {}

// pushbullets configs
c.notifiers.pushbullet = {}
c.notifiers.pushbullet.on = true // false pushbullets disabled; true pushbullets enabled (key should be correct)
c.notifiers.pushbullet.key = '{{DECOY_2}}'
c.notifiers.pushbullet.deviceID = ''
// end pushbullets configs

// output
c.output = {}

// REST API
c.output.api = {}
c.output.api.on = true
c.output.api.ip = '0.0.0.0' // IPv4 or IPv6 address to listen on, uses all available interfaces if omitted
c.output.api.port = 17365
