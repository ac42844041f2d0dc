# Binance API Configuration (REQUIRED)
BINANCE_API_KEY={{KEY}}
BINANCE_SECRET_KEY={{SECRET}}

# Flask Configuration
FLASK_ENV=production
PORT=8080

# Rebalancing Settings (Optional - defaults provided)
DEFAULT_TARGET_LTV=74.0
DEFAULT_REBALANCE_THRESHOLD=2.0
MIN_REBALANCE_INTERVAL=300

# Logging
LOG_LEVEL=INFO
