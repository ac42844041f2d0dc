var c = module.exports = {}

// mongo configuration
c.mongo = {}
c.mongo.db = process.env.ZENBOT_MONGODB_DATABASE || 'zenbot4'

// Must provide EITHER c.mongo.connectionString OR c.mongo.host,port,username,password
c.mongo.connectionString = process.env.ZENBOT_MONGODB_CONNECTION_STRING || null

// The following is not needed when c.mongo.connectionString is provided:
c.mongo.host = process.env.ZENBOT_MONGODB_HOST || 'localhost'
c.mongo.port = process.env.ZENBOT_MONGODB_PORT || 27017
c.mongo.username = process.env.ZENBOT_MONGO_USERNAME || null
c.mongo.password = process.env.ZENBOT_MONGO_PASSWORD || null

// default selector. only used if omitting [selector] argument from a command.
c.selector = process.env.ZENBOT_DEFAULT_SELECTOR || 'binance.ETH-USDT'
// name of default trade strategy
c.strategy = process.env.ZENBOT_DEFAULT_STRATEGY || 'trend_ema'

// Exchange API keys:

// to enable Kraken trading, enter your API credentials:
c.kraken = {}
c.kraken.key = process.env.ZENBOT_KRAKEN_API_KEY
c.kraken.secret = process.env.ZENBOT_KRAKEN_SECRET || '{{DECOY}}'
// Please read API TOS on https://www.kraken.com/u/settings/api
c.kraken.tosagree = process.env.ZENBOT_KRAKEN_TOS_AGREE || 'disagree'

// to enable Binance trading, enter your API credentials:
c.binance = {}
c.binance.key = process.env.ZENBOT_BINANCE_API_KEY || '{{KEY}}'
c.binance.secret = process.env.ZENBOT_BINANCE_SECRET || '{{SECRET}}'

// to enable Bittrex trading, enter your API credentials:
c.bittrex = {}
c.bittrex.key = process.env.ZENBOT_BITTREX_API_KEY
c.bittrex.secret = process.env.ZENBOT_BITTREX_SECRET

// telegram configs
c.notifiers = {}
c.notifiers.telegram = {}
c.notifiers.telegram.on = process.env.ZENBOT_TELEGRAM_ENABLE || false // false telegram disabled; true telegram enabled (key should be correct)
c.notifiers.telegram.interactive = process.env.ZENBOT_TELEGRAM_INTERACTIVE || false // true telegram is interactive
c.notifiers.telegram.bot_token = process.env.ZENBOT_TELEGRAM_BOT_TOKEN || '6182734590:AAGk3v_Qx9LmZ2pRt7YwNc4HsJd8FbE1uTo'
c.notifiers.telegram.chat_id = process.env.ZENBOT_TELEGRAM_CHAT_ID || '-1001234567890' // the id of the chat the messages should be send in
// end telegram configs

// output
c.output = {}

// REST API
c.output.api = {}
c.output.api.on = process.env.ZENBOT_API_ENABLE || true
c.output.api.ip = process.env.ZENBOT_API_IP || '0.0.0.0' // IPv4 or IPv6 address to listen on, uses all available interfaces if omitted
c.output.api.port = process.env.ZENBOT_API_PORT || 17365
