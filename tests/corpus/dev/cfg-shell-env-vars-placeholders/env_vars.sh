# Binance API Configuration (REQUIRED)
BINANCE_API_KEY=your_binance_api_key_here
BINANCE_SECRET_KEY=your_binance_secret_key_here

# Flask Configuration
FLASK_ENV=production
PORT=8080

# Rebalancing Settings (Optional - defaults provided)
DEFAULT_TARGET_LTV=74.0
DEFAULT_REBALANCE_THRESHOLD=2.0
MIN_REBALANCE_INTERVAL=300

# Logging
LOG_LEVEL=INFO
