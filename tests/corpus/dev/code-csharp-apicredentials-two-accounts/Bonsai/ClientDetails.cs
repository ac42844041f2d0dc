using Binance.Net.Clients;
using Binance.Net.Interfaces.Clients.UsdFuturesApi;
using Binance.Net.Objects;
using CryptoExchange.Net.Authentication;

namespace Bonsai
{
    public static class ClientDetails
    {
        public static IBinanceClientUsdFuturesApi GetClient()
        {
            return new BinanceClient(new BinanceClientOptions()
            {
                UsdFuturesApiOptions = new BinanceApiClientOptions()
                {
                    ApiCredentials = new ApiCredentials("{{KEY}}",
                        "{{SECRET}}"),
                    AutoTimestamp = true
                }
            }).UsdFuturesApi;

        }

        public static IBinanceClientUsdFuturesApi GetSonaClient()
        {
            return new BinanceClient(new BinanceClientOptions()
            {
                UsdFuturesApiOptions = new BinanceApiClientOptions()
                {
                    ApiCredentials = new ApiCredentials("{{KEY_2}}",
                        "{{SECRET_2}}"),
                    AutoTimestamp = true
                }
            }).UsdFuturesApi;

        }
    }
}
