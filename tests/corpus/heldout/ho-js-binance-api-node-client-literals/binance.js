const Binance = require("binance-api-node").default;

const client = Binance({
  apiKey: "{{KEY}}",
  apiSecret: "{{SECRET}}",
});

module.exports = client
