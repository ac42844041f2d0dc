import logging
import os

from binance.client import Client

KEYS_DIR = os.getenv("BOT_KEYS_DIR", os.path.join(os.path.dirname(__file__), "keys"))

logger = logging.getLogger("bot.config")


def load_api_keyfiles():
    """Load the API key and secret, one per file"""

    key_path = os.path.join(KEYS_DIR, "api.key")
    secret_path = os.path.join(KEYS_DIR, "secret.key")
    if not (os.path.exists(key_path) and os.path.exists(secret_path)):
        logger.warning("The API key files in {} were not found!".format(KEYS_DIR))
        return None
    with open(key_path, encoding="utf-8") as f:
        key = f.read().strip()
    with open(secret_path, encoding="utf-8") as f:
        secret = f.read().strip()
    return {"key": key, "secret": secret}


if __name__ == "__main__":
    keys = load_api_keyfiles()
    client = Client(keys["key"], keys["secret"])
    print(client.get_account()["balances"][:5])
