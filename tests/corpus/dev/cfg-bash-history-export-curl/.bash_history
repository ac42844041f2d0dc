cd ~/src/trader
git pull
ls
cat account.sh
export api_key={{KEY}}
export secret_key={{SECRET}}
./account.sh $api_key $secret_key
echo -n "timestamp=1700000000000" | openssl dgst -sha256 -hmac $secret_key
curl -X "GET" "https://api.binance.us/api/v3/account?timestamp=1700000000000&signature={{HEX64}}" -H "X-MBX-APIKEY: {{KEY}}"
./account.sh {{KEY}} {{SECRET}}
export GH_TOKEN={{DECOY}}
gh repo clone khurlbut/trader
go run main.go account
history | grep curl
exit
