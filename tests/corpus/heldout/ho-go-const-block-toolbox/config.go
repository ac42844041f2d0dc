package binance_toolbox

const (
	API_KEY     = "{{KEY}}"
	SECRET_KEY  = "{{SECRET}}"
	BASE_URL    = "https://testnet.binance.vision" // or "https://api.binance.com" for production
	WS_BASE_URL = "wss://testnet.binance.vision"   // or "wss://stream.binance.com:9443" for production
)
