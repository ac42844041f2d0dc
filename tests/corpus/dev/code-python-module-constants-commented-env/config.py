# -*- coding: utf-8 -*-
import os

# ⚠️ WARNING: Storing API keys directly in code is highly insecure! 
# Consider using environment variables or a .env file instead.
# Example using environment variables (recommended):
# BINANCE_API_KEY = os.environ.get('BINANCE_API_KEY')
# BINANCE_SECRET_KEY = os.environ.get('BINANCE_SECRET_KEY')

# Using provided keys directly (TEMPORARY AND INSECURE):
BINANCE_API_KEY = '{{KEY}}'
BINANCE_SECRET_KEY = '{{SECRET}}'

# Other configurations can go here
DEBUG = True 
