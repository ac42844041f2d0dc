module.exports = {
  advisors: ['example'],
  providers: {
    binance: {
      keys: {
        api: '{{KEY}}',
        secret: '{{SECRET}}'
      }
    }
  },
  serverPort: 7007
}
