namespace TradingBotPrj
{
    public class Settings
    {
        public const string BaseEndpoint = "https://testnet.binance.vision";
        public const string ApiKey = "{{KEY}}";
        public const string SecretKey = "{{SECRET}}";
    }

    /*
     * api: https://api.binance.com
     * testnet: https://testnet.binance.vision
    */
}
