#! /usr/bin/python3
import os
os.chdir('/home/pi/WaveTrend-bot') # Put your working directory
from real_bot_telegram import *
import threading
import rest_api as api
# ------- Bybit session
api_key="XbT4pL9qWm2Rz7KdNa" # API key
secret="Qk8vR2nLp5TzW9xYc3MbH7jFd1SgA6eUo4Ki" # Private key
leverage=1 # Leverage
session=api.Account(api_key,secret,leverage)
# ------- Telegram bot
token="5118321417:AAt7s8Stqcbnr3yBdGBLEPH1qhT61qtc4xa" # Enter your Telegram Token
chat_id="418273650" # Enter your Telegra chat ID
bot=TelegramBot(session,token,chat_id)
# -------


if __name__ == '__main__':
    telegram_update = threading.Thread(target=update, args=(bot,))
    telegram_update.start()
