"""A Binance-compatible local exchange for tests, demos and incident drills (loopback only)."""

BUILT_IN_SCENARIOS = ("clean", "wash-trade-theft", "withdrawal-theft", "leaked-readonly")
