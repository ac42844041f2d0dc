"""A Binance-compatible local exchange for tests, demos and incident drills (loopback only)."""
