"""Evidence for and against a 64-character token being a Binance credential, and which kind it is.

Every HMAC-shaped candidate is judged here, whichever rule found it. Evidence for: the name bound to the
value (in any naming scheme: `BINANCE_API_KEY`, `apiSecret`, `PublicKey`, `<add key="BinanceKey"
value=…>`, a Postman `"key"` on the line before its `"value"`), Binance named in the same statement (a
client or constructor), the section it sits in, the file or its path, a key file holding only tokens.
Evidence against: another exchange's or service's name bound to it, an encoded block or PEM body around
it, a listen key. Points add up; a value is reported at REPORT_SCORE, and at PENDING_SCORE only if
something beside the file (a neighbouring file naming Binance, a partner value) adds the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REPORT_SCORE = 3.0
PENDING_SCORE = 2.0
LINE_WINDOW = 160  # bytes before the value on its line in which its name is looked for
SECTION_LINES = 6  # lines above the value in which a section's exchange name is looked for
KEY_FILE_BYTES = 512  # a key file holding two tokens and white space is far smaller
PREVIOUS_LINES = 3  # lines above a value with no name on its own line in which its name is looked for

# an identifier, dotted or dashed path, or quoted name; never a piece of a longer token
_WORD = re.compile(rb"(?<![A-Za-z0-9_.])[A-Za-z][A-Za-z0-9_.\-]{0,60}(?![A-Za-z0-9_.\-])")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_BLOCK_LINE = re.compile(rb"[A-Za-z0-9+/=]{40,}")
_HMAC_OPTION = re.compile(rb"(?i)hmac[\"']?\s{0,4}[:= ]\s{0,4}[\"']?$")

SECRET_PARTS = frozenset({"secret", "private", "priv", "sec", "secretkey", "privatekey", "apisecret"})
KEY_PARTS = frozenset({"key", "public", "pub", "apikey", "publickey", "keys"})
AMBIGUOUS_PARTS = frozenset({"api", "credentials", "credential", "creds", "auth", "hmac", "access"})
COMPOUND_NAMES = (
    ("api", "key"),
    ("api", "secret"),
    ("secret", "key"),
    ("public", "key"),
    ("private", "key"),
    ("access", "key"),
    ("apikey",),
    ("apisecret",),
    ("secretkey",),
)
BINANCE_PARTS = frozenset({"binance", "bnb", "binanceus"})
OTHER_EXCHANGES = frozenset(
    {
        "bybit",
        "kucoin",
        "okx",
        "okex",
        "gate",
        "gateio",
        "huobi",
        "htx",
        "kraken",
        "coinbase",
        "bitget",
        "mexc",
        "bitfinex",
        "bitmex",
        "deribit",
        "bitstamp",
        "poloniex",
        "bitmart",
        "phemex",
        "cryptocom",
        "gemini",
        "upbit",
        "bithumb",
        "ftx",
        "woo",
        "hyperliquid",
        "bittrex",
        "gdax",
        "bitso",
        "exmo",
        "hitbtc",
        "lbank",
        "probit",
        "ascendex",
        "whitebit",
        "bingx",
        "coinex",
        "digifinex",
        "bitvavo",
        "luno",
        "zaif",
        "bitflyer",
        "coincheck",
        "btcturk",
        "paribu",
        "wazirx",
        "zebpay",
        "bitpanda",
        "bitkub",
        "indodax",
        "novadax",
        "bitbank",
        "btcmarkets",
        "coinspot",
        "currencycom",
        "ndax",
        "tokocrypto",
    }
)
OTHER_SERVICES = frozenset(
    {
        "jwt",
        "django",
        "flask",
        "session",
        "webhook",
        "telegram",
        "discord",
        "slack",
        "github",
        "gitlab",
        "stripe",
        "aws",
        "azure",
        "gcp",
        "firebase",
        "sentry",
        "openai",
        "twilio",
        "sendgrid",
        "mailgun",
        "csrf",
        "cookie",
        "salt",
        "nonce",
        "hash",
        "sha",
        "sha256",
        "md5",
        "checksum",
        "listenkey",
        "listen",
        "uuid",
        "encryption",
        "fernet",
        "etherscan",
        "infura",
        "alchemy",
        "coingecko",
        "cmc",
        "coinmarketcap",
        "notifier",
        "notifiers",
        "pushbullet",
        "pushover",
        "ifttt",
        "prowl",
        "textbelt",
        "mattermost",
        "smtp",
        "imap",
        "redis",
        "postgres",
        "mysql",
        "mongo",
        "mongodb",
        "google",
        "youtube",
        "twitter",
        "reddit",
        "cryptopanic",
        "bscscan",
        "polygonscan",
        "moralis",
        "glassnode",
        "santiment",
        "messari",
        "coinapi",
        "cryptocompare",
        "nomics",
        "lunarcrush",
        "tradingview",
        "taapi",
        "alpaca",
        "oanda",
        "finnhub",
        "alphavantage",
        "tiingo",
        "quandl",
    }
)


# Words that tie a whole line to another service (an Azure connection string, a license token).
LINE_FOREIGN = frozenset({"connectionstring", "defaultendpointsprotocol", "accountname", "sharedaccesskey"})
# A section header above the value: `"Jwt": {`, `jwt:`, `[jwt]`.
_SECTION_HEADER = re.compile(rb"^\s*(?:\[([^\]\n]{1,60})\]|[\"']?([A-Za-z][\w .\-]{0,60})[\"']?\s*[:=]\s*[{\[(]?)\s*$")


@dataclass(frozen=True)
class Evidence:
    score: float
    kind: str | None  # api_key | secret from the name; None when only the order of a pair can say
    reasons: tuple[str, ...]
    against: str | None = None  # why it is not a Binance credential (then it is dropped)


def name_parts(word: bytes) -> list[str]:
    """`BINANCE_API_KEY`, `apiSecret`, `PublicKey`, `binance-api-key` → lower-case parts."""
    parts: list[str] = []
    for piece in re.split(r"[_.\-\\/:]+", word.decode("ascii", "replace")):
        camel = _CAMEL.findall(piece)
        parts += [p.lower() for p in camel] if camel else [piece.lower()]
        if len(camel) > 1:
            parts.append(piece.lower())  # `apikey` as one word too
    return [p for p in parts if p]


def _kind(parts: list[str]) -> str | None:
    if any(p in SECRET_PARTS for p in parts):
        return "secret"
    if any(p in KEY_PARTS for p in parts):
        return "api_key"
    return None


def _compound(parts: list[str]) -> bool:
    found = set(parts)
    return any(all(p in found for p in names) for names in COMPOUND_NAMES)


def _line_prefix(data: bytes, start: int) -> tuple[bytes, bytes]:
    """The text before the value on its line (up to LINE_WINDOW bytes), and the nearest of the three lines
    above that holds a word (a call's arguments split over lines put the name a few lines up)."""
    line_start = data.rfind(b"\n", 0, start) + 1
    same = data[max(line_start, start - LINE_WINDOW) : start]
    end = line_start
    for _ in range(PREVIOUS_LINES):
        if end == 0:
            break
        above = data.rfind(b"\n", 0, end - 1) + 1
        text = data[max(above, end - LINE_WINDOW) : end]
        if _WORD.search(text):
            return same, text
        end = above
    return same, b""


def _words(text: bytes) -> list[list[str]]:
    return [name_parts(word) for word in _WORD.findall(text)]


def in_encoded_block(data: bytes, start: int, end: int) -> str | None:
    """A PEM body line, or one line of a block of base64 lines: not a credential of its own."""
    begin = data.rfind(b"-----BEGIN", 0, start)
    if begin != -1 and data.rfind(b"-----END", 0, start) < begin:
        return "inside a PEM block"
    line_start = data.rfind(b"\n", 0, start) + 1
    run = 0
    position = line_start
    for _ in range(3):  # the lines above
        if position == 0:
            break
        above = data.rfind(b"\n", 0, position - 1) + 1
        if not _BLOCK_LINE.fullmatch(data[above : position - 1].strip()):
            break
        run += 1
        position = above
    position = data.find(b"\n", end)
    for _ in range(3):  # the lines below
        if position == -1:
            break
        below_end = data.find(b"\n", position + 1)
        line = data[position + 1 : len(data) if below_end == -1 else below_end].strip()
        if not _BLOCK_LINE.fullmatch(line):
            break
        run += 1
        position = below_end
    return "one line of an encoded block" if run >= 2 else None


def _section_service(data: bytes, start: int) -> str | None:
    """The service named by the nearest section header above the value, when it is not an exchange's."""
    end = data.rfind(b"\n", 0, start)
    for _ in range(SECTION_LINES):
        if end <= 0:
            return None
        above = data.rfind(b"\n", 0, end) + 1
        header = _SECTION_HEADER.match(data[above:end])
        if header:
            parts = name_parts(header.group(1) or header.group(2))
            foreign = [p for p in parts if p in OTHER_SERVICES]
            return foreign[0] if foreign and not any(p in BINANCE_PARTS for p in parts) else None
        end = above - 1
    return None


def _section_exchange(data: bytes, start: int, lowered: bytes) -> str | None:
    """The exchange named nearest above the value, within a few lines (a YAML/JSON/INI section)."""
    window_start = start
    for _ in range(SECTION_LINES):
        window_start = lowered.rfind(b"\n", 0, max(window_start - 1, 0))
        if window_start <= 0:
            window_start = 0
            break
    nearest: tuple[int, str] | None = None
    for word in _WORD.finditer(data, window_start, start):
        for part in name_parts(word.group()):
            if part in BINANCE_PARTS or part in OTHER_EXCHANGES:
                nearest = (word.start(), "binance" if part in BINANCE_PARTS else part)
    return nearest[1] if nearest else None


def judge(
    data: bytes,
    start: int,
    end: int,
    lowered: bytes,
    file_name_parts: list[str],
    path_names_binance: bool,
    file_names_binance: bool,
) -> Evidence:
    """Evidence on the token at data[start:end]; `file_name_parts`: the parts of its file's name."""
    encoded = in_encoded_block(data, start, end)
    if encoded:
        return Evidence(0.0, None, (), against=encoded)
    same, previous = _line_prefix(data, start)
    same_words = _words(same)
    alone_on_its_line = not same_words
    named = [parts for parts in same_words if _kind(parts) or any(p in AMBIGUOUS_PARTS for p in parts)]
    where = "its name"
    if not named and not any(p in BINANCE_PARTS for parts in same_words for p in parts):
        previous_words = _words(previous)
        named = [parts for parts in previous_words if _kind(parts) or any(p in AMBIGUOUS_PARTS for p in parts)]
        same_words = same_words + previous_words
        where = "the name on the line before"
    score = 0.0
    reasons: list[str] = []
    kind: str | None = None
    line_parts = {p for parts in same_words for p in parts}
    if line_parts & LINE_FOREIGN and not line_parts & BINANCE_PARTS:
        return Evidence(
            0.0, None, (), against=f"a connection string of another service: {sorted(line_parts & LINE_FOREIGN)[0]}"
        )
    if named:
        nearest = named[-1]
        foreign = [p for p in nearest if p in OTHER_EXCHANGES or p in OTHER_SERVICES]
        if foreign and not any(p in BINANCE_PARTS for p in nearest):
            return Evidence(0.0, None, (), against=f"named for {foreign[0]}: {'_'.join(nearest)}")
        if "token" in nearest and not any(p in BINANCE_PARTS or p in SECRET_PARTS or p in KEY_PARTS for p in nearest):
            return Evidence(0.0, None, (), against=f"named a token, which Binance does not issue: {'_'.join(nearest)}")
        kind = _kind(nearest)
        if kind is None and _HMAC_OPTION.search(same):  # `openssl dgst -hmac SECRET`, `hmac: SECRET`
            kind = "secret"
        if _compound(nearest):
            score += 3
            reasons.append(f"{where} says {kind or 'key'}: {'_'.join(nearest)}")
        else:
            score += 2
            reasons.append(f"{where} suggests a credential: {'_'.join(nearest)}")
    if any(p in BINANCE_PARTS for parts in same_words for p in parts):
        score += 2
        reasons.append("Binance named in the same statement")
    else:
        header = _section_service(data, start)
        if header:
            return Evidence(0.0, None, (), against=f"in a section for {header}")
        section = _section_exchange(data, start, lowered)
        if section and section != "binance":
            return Evidence(0.0, None, (), against=f"in a section for {section}")
        if section == "binance":
            score += 1
            reasons.append("in a section for Binance")
        elif path_names_binance:
            score += 1
            reasons.append("its path names Binance")
        elif file_names_binance:
            score += 1
            reasons.append("the file names Binance")
        else:
            others = sorted(name for name in OTHER_EXCHANGES if len(name) > 3 and name.encode() in lowered)
            if others:
                return Evidence(0.0, None, (), against=f"the file names {others[0]}, never Binance")
    foreign_file = [p for p in file_name_parts if p in OTHER_EXCHANGES]
    if foreign_file and not any(p in BINANCE_PARTS for p in file_name_parts):
        return Evidence(0.0, None, (), against=f"its file is named for {foreign_file[0]}")
    file_kind = _kind(file_name_parts)
    if not named and file_kind and alone_on_its_line:  # `secret.key`, not a `password:` in binance-secret.yaml
        kind = file_kind
        score += 2
        reasons.append(f"its file name says {file_kind}: {'.'.join(file_name_parts)}")
    return Evidence(score, kind, tuple(reasons))


def only_tokens(data: bytes) -> bool:
    """A key file: nothing in it but one or two tokens (and white space)."""
    if len(data) > KEY_FILE_BYTES:
        return False
    words = data.split()
    return 0 < len(words) <= 2 and all(len(word) == 64 for word in words)


def kind_where_loaded(text: bytes, file_name: str) -> str | None:
    """What the code that reads a key file calls its value: `$secret = Get-Content .\\keys\\s.txt`."""
    position = text.find(file_name.encode("utf-8", "replace"))
    if position == -1:
        return None
    line_start = text.rfind(b"\n", 0, position) + 1
    for word in reversed(_WORD.findall(text[line_start:position])):
        kind = _kind(name_parts(word))
        if kind:
            return kind
    return None
