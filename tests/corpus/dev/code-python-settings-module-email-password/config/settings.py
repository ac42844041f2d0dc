# config/settings.py

# WARNING: Keep API keys secure and don't commit them to version control.
BINANCE_API_KEY = '{{KEY}}'
BINANCE_API_SECRET = '{{SECRET}}'

# Email settings
EMAIL_HOST = 'smtp.example.com'  # Replace with your SMTP server
EMAIL_PORT = 465  # or 587 for non-SSL
EMAIL_HOST_USER = 'username@example.com'
EMAIL_HOST_PASSWORD = 'mail_app_password'

SYMBOLS = ['BTCUSDT', 'ETHUSDT']
