"""keyguard: protects Binance API keys over their whole life."""

__version__ = "0.1.0"
