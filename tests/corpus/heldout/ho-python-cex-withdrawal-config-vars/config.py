
#--------------------------------------- main-config ---------------------------------------#

cex = "binance"           # binance, mexc, kucoin, gate, okx, huobi, bybit, bitget, coinex
symbolWithdraw = "BNB"  
network = "BSC"        
amount = [0.0012, 0.0014]        # min & max amount
decimal_places = 6       # the number of decimal places for generating random numbers
delay = [30, 68]       # min & max delay
shuffle_wallets = "no"   # yes/no
proxy_server = "http://vUq7kd:Lp93xRt2@185.162.130.44:8000"

#---------------------------------- telegram-notification ----------------------------------#

chat = "418273650"
bot_id = "5118321417:AAt7s8Stqcbnr3yBdGBLEPH1qhT61qtc4xa"

#----------------------------------------- api-keys ----------------------------------------#

binance_apikey = "{{KEY}}"
binance_apisecret = "{{SECRET}}"

okx_apikey = "6b1f3c2a-9d4e-4f7a-8c5b-2e0d1a9f7c36"
okx_apisecret = "3F9A1C7E5B2D8F4A6C0E9B1D7A3F5C2E"
okx_passphrase = "Withdraw#2024"

bybit_apikey = "XbT4pL9qWm2Rz7KdNa"
bybit_apisecret = "Qk8vR2nLp5TzW9xYc3MbH7jFd1SgA6eUo4Ki"

gate_apikey = "e58b081006f7e3dfc967a64cb14028d5"
gate_apisecret = "{{HEX64}}"

kucoin_apikey = "your_api"
kucoin_apisecret = "your_api_secret"
kucoin_passphrase = "your_api_password"

mexc_apikey = "your_api"
mexc_apisecret = "your_api_secret"

huobi_apikey = "your_api"
huobi_apisecret = "your_api_secret"

bitget_apikey = ""
bitget_apisecret = ""
bitget_password = ""

coinex_apikey = ""
coinex_apisecret = ""
