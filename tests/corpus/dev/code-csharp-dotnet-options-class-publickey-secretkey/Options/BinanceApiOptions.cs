namespace CryptoPro.ClientsService.Infrastructure.Options;

public class BinanceApiOptions
{
    public string BaseUri { get;  set; } = "https://api.binance.com";
    public string PublicKey { get;  set; } = "{{KEY}}";
    public string SecretKey { get;  set; } = "{{SECRET}}";
}
