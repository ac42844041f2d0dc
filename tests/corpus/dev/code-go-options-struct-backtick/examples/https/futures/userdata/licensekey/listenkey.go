package main

import (
	"context"
	"fmt"
	"github.com/jekaxv/go-binance"
	"github.com/jekaxv/go-binance/core"
)

func main() {
	client := binance.NewFuturesClient(core.Options{
		ApiKey:    "{{KEY}}",
		ApiSecret: `{{ED25519_PEM}}`,
		SignType:  core.SignTypeEd25519,
	})
	resp, err := client.NewGetListenKey().Do(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(binance.PrettyPrint(resp))
}
