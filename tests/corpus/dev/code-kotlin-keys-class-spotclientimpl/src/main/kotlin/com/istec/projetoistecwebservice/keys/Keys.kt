package com.istec.projetoistecwebservice.keys

class Keys {

    val api_key = "{{KEY}}"
    val secret_api_key = "{{SECRET}}"
    val binannce_api = "https://api.binance.com"
}
