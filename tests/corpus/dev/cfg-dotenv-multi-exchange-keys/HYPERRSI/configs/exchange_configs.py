from dotenv import load_dotenv

import os

load_dotenv()


binance_key = os.getenv("BINANCE_KEY")
binance_secret = os.getenv("BINANCE_SECRET")
upbit_key = os.getenv("UPBIT_KEY")
upbit_secret = os.getenv("UPBIT_SECRET")
bitget_key = os.getenv("BITGET_KEY")
bitget_secret = os.getenv("BITGET_SECRET")
bitget_password = os.getenv("BITGET_PASSWORD")

okx_key = os.getenv("OKX_SECRET")
okx_secret = os.getenv("OKX_SECRET")
okx_password = os.getenv("OKX_PASSWORD")
# bitget_key = os.getenv('bg_{{HEX64}}')
# bitget_secret = os.getenv('{{HEX64_2}}')
# bitget_password = os.getenv('tradingboost01')


telegram_id = os.getenv("TELEGRAM_ID")
