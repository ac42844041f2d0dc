// 合约测试链接：https://testnet.binancefuture.com/zh-CN/futures/BTCUSDT
// 现货测试链接：https://testnet.binance.vision/

pub const SPOT_BASE_URL: &str = "https://api.binance.com";
pub const TEST_SPOT_BASE_URL: &str = "https://testnet.binance.vision";

pub const FUTURE_BASE_URL: &str = "https://fapi.binance.com";
pub const TEST_FUTURE_BASE_URL: &str = "https://testnet.binancefuture.com";

pub const SPOT_WSS_URL: &str = "wss://stream.binance.com:9443";
pub const SPOT_WSS_API_URL: &str = "wss://ws-api.binance.com:443/ws-api/v3";
pub const TEST_SPOT_WSS_URL: &str = "wss://stream.testnet.binance.vision";
pub const TEST_SPOT_WSS_API_URL: &str = "wss://ws-api.testnet.binance.vision/ws-api/v3";

pub const FUTURE_WSS_URL: &str = "wss://fstream.binance.com";
pub const FUTURE_WSS_API_URL: &str = "wss://ws-fapi.binance.com/ws-fapi/v1";
pub const TEST_FUTURE_WSS_URL: &str = "wss://fstream.binancefuture.com";
pub const TEST_FUTURE_WSS_API_URL: &str = "wss://testnet.binancefuture.com/ws-fapi/v1";

pub const TEST_SPOT_API_KEY: &str =
    "{{KEY}}";
pub const TEST_SPOT_SECRET_KEY: &str =
    "{{SECRET}}";
pub const TEST_FUTURE_API_KEY: &str =
    "{{KEY_2}}";
pub const TEST_FUTURE_SECRET_KEY: &str =
    "{{SECRET_2}}";
