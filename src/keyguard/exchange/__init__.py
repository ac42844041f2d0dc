"""The only place keyguard talks to Binance (ccxt underneath): signing, retries, typed results."""
