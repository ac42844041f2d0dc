"""Synthetic screenshots for the image tests and bench/screenshots.py, drawn with Pillow, never from real keys.

Each kind imitates a real screen where Binance keys get photographed: Binance's API Management page right
after a key is created (light, dark, and the phone app, where the values wrap onto a second line),
terminals (dark and light), a code editor, a messenger, a trading bot's web settings, a log viewer. `phone`
shrinks one of them and saves it as a JPEG, as a screenshot forwarded in a messenger arrives. Values are
random 64-character alphanumerics from the seed; look-alikes (SHA-256 hashes, listen keys, placeholders)
are drawn beside them and must never be reported.

Tuning used seeds below HELD_OUT_SEED; the bench reports on seeds from HELD_OUT_SEED on.
"""

from __future__ import annotations

import io
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ALNUM = string.ascii_letters + string.digits
HELD_OUT_SEED = 1000
FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"), Path("/usr/share/fonts/dejavu")]


def token(rng: random.Random, length: int = 64) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(length))


def hex64(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(64))


def font(size: int, mono: bool = False, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu (on every machine of this kind), else Pillow's own font."""
    name = "DejaVuSansMono" if mono else "DejaVuSans"
    name += "-Bold" if bold else ""
    for directory in FONT_DIRS:
        if (directory / f"{name}.ttf").is_file():
            return ImageFont.truetype(str(directory / f"{name}.ttf"), size)
    return ImageFont.load_default(size)


@dataclass
class Shot:
    """A rendered screen: the image, the values on it (value, kind) and the look-alikes drawn beside them."""

    kind: str
    seed: int
    image: Image.Image
    values: list[tuple[str, str]] = field(default_factory=list)
    decoys: list[str] = field(default_factory=list)

    def png(self) -> bytes:
        out = io.BytesIO()
        self.image.save(out, "PNG")
        return out.getvalue()


def _page(size: tuple[int, int], background: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", size, background)
    return image, ImageDraw.Draw(image)


def binance(seed: int, dark: bool = False) -> Shot:
    """API Management right after creating a key: the key, the secret (shown once), restrictions."""
    rng = random.Random(f"binance:{dark}:{seed}")
    key, secret = token(rng), token(rng)
    bg, fg, muted, panel = (
        ("#0b0e11", "#eaecef", "#848e9c", "#1e2329") if dark else ("white", "#1e2329", "#707a8a", "#f5f5f5")
    )
    image, draw = _page((1440, 900), bg)
    size = rng.choice([14, 15, 16])
    regular, bold = font(size), font(size + 8, bold=True)
    draw.rectangle((0, 0, 1440, 64), fill="#181a20")
    draw.text((32, 20), "BINANCE", font=font(22, bold=True), fill="#f0b90b")
    for x, item in zip((200, 290, 380, 470), ("Buy Crypto", "Markets", "Trade", "Futures"), strict=True):
        draw.text((x, 24), item, font=font(14), fill="#eaecef")
    draw.text((260, 100), "API Management", font=bold, fill=fg)
    draw.rectangle((260, 150, 1380, 196), fill="#fdf6e3" if not dark else "#2b2f36")
    notice = "Please save your Secret Key. It will not be shown again for security reasons."
    draw.text((280, 162), notice, font=regular, fill="#c99400")
    draw.rectangle((260, 220, 1380, 560), fill=panel)
    label = rng.choice(["trading-bot", "grid bot 2", "freqtrade"])
    draw.text((290, 240), f"Label: {label}", font=font(size + 2, bold=True), fill=fg)
    draw.text((290, 290), "API Key", font=regular, fill=muted)
    draw.text((290, 316), key, font=regular, fill=fg)
    draw.text((290, 366), "Secret Key", font=regular, fill=muted)
    draw.text((290, 392), secret, font=regular, fill=fg)
    draw.text((290, 450), "API restrictions:", font=regular, fill=muted)
    draw.text(
        (290, 476),
        "[x] Enable Reading   [x] Enable Spot & Margin Trading   [ ] Enable Withdrawals",
        font=regular,
        fill=fg,
    )
    draw.text((290, 512), "IP access restrictions: Unrestricted (Less Secure)", font=regular, fill="#f6465d")
    digest = hex64(rng)
    draw.text(
        (260, 600),
        f"Last login: 2024-05-0{rng.randint(1, 9)} 10:2{rng.randint(0, 9)} TxID {digest}",
        font=font(13),
        fill=muted,
    )
    return Shot("binance-dark" if dark else "binance", seed, image, [(key, "api_key"), (secret, "secret")], [digest])


def binance_app(seed: int) -> Shot:
    """Binance's app on a phone right after creating a key: the key and the secret wrapped onto two lines."""
    rng = random.Random(f"binance_app:{seed}")
    key, secret = token(rng), token(rng)
    image, draw = _page((720, 1480), "white")
    size = rng.choice([24, 26])
    regular, bold = font(size), font(size + 8, bold=True)
    draw.text((40, 60), "9:41", font=font(22, bold=True), fill="black")
    draw.text((40, 140), "API Management", font=bold, fill="#1e2329")
    draw.text((40, 230), "Label: " + rng.choice(["bot", "grid-bot", "3commas"]), font=regular, fill="#707a8a")
    y = 320
    for label, value in (("API Key", key), ("Secret Key", secret)):
        draw.text((40, y), label, font=regular, fill="#707a8a")
        y += int(size * 1.8)
        cut = rng.choice([30, 32, 34])  # as the app wraps it
        for part in (value[:cut], value[cut:]):
            draw.text((40, y), part, font=regular, fill="#1e2329")
            y += int(size * 1.5)
        y += size * 2
    notice = "Please don't share your API Key and Secret"
    draw.text((40, y + 40), notice, font=font(20), fill="#c99400")
    return Shot("binance-app", seed, image, [(key, "api_key"), (secret, "secret")])


def terminal(seed: int, light: bool = False) -> Shot:
    rng = random.Random(f"terminal:{light}:{seed}")
    key, secret = token(rng), token(rng)
    bg, fg, prompt = ("#fdf6e3", "#073642", "#859900") if light else ("#1e1e1e", "#d4d4d4", "#6a9955")
    image, draw = _page((1280, 720), bg)
    mono = font(rng.choice([14, 15, 16]), mono=True)
    listen = token(rng, 60)
    digest = hex64(rng)
    lines = [
        (prompt, "user@vps:~/bot$ cat .env"),
        (fg, "# exchange"),
        (fg, f"BINANCE_API_KEY={key}"),
        (fg, f"BINANCE_API_SECRET={secret}"),
        (fg, "TELEGRAM_CHAT_ID=-100123456789"),
        (prompt, "user@vps:~/bot$ sha256sum config.json"),
        (fg, f"{digest}  config.json"),
        (prompt, "user@vps:~/bot$ tail -n1 stream.log"),
        (fg, f"listenKey={listen} renewed"),
        (prompt, "user@vps:~/bot$ _"),
    ]
    y = 20
    for colour, text in lines:
        draw.text((16, y), text, font=mono, fill=colour)
        y += int(mono.size * 1.6)
    return Shot(
        "terminal-light" if light else "terminal", seed, image, [(key, "api_key"), (secret, "secret")], [digest, listen]
    )


def editor(seed: int) -> Shot:
    rng = random.Random(f"editor:{seed}")
    key, secret = token(rng), token(rng)
    image, draw = _page((1400, 800), "#282c34")
    draw.rectangle((0, 0, 1400, 34), fill="#21252b")
    draw.text((70, 9), "bot.py", font=font(13), fill="#d7dae0")
    mono = font(rng.choice([14, 15]), mono=True)
    code = [
        ("#c678dd", "from binance.client import Client"),
        ("#abb2bf", ""),
        ("#abb2bf", "# TODO move to env"),
        ("#abb2bf", f'api_key = "{key}"'),
        ("#abb2bf", f'api_secret = "{secret}"'),
        ("#abb2bf", 'PLACEHOLDER = "YOUR_API_KEY_HERE"'),
        ("#abb2bf", ""),
        ("#abb2bf", "client = Client(api_key, api_secret)"),
        ("#abb2bf", 'print(client.get_account()["balances"])'),
    ]
    y = 50
    for number, (colour, text) in enumerate(code, 1):
        draw.text((14, y), f"{number:>3}", font=mono, fill="#636d83")
        draw.text((70, y), text, font=mono, fill=colour)
        y += int(mono.size * 1.55)
    return Shot("editor", seed, image, [(key, "api_key"), (secret, "secret")], ["YOUR_API_KEY_HERE"])


def chat(seed: int, clean: bool = False) -> Shot:
    """A messenger: the key pair pasted in bubbles (`clean`: a transaction hash and a listen key instead)."""
    rng = random.Random(f"chat:{clean}:{seed}")
    key, secret = token(rng), token(rng)
    if clean:
        key, secret = hex64(rng), token(rng, 60)
    image, draw = _page((1200, 760), "#e6ebee")
    draw.rectangle((0, 0, 1200, 56), fill="#517da2")
    draw.text((20, 16), "Grid bot support", font=font(18, bold=True), fill="white")
    size = rng.choice([14, 15])
    regular = font(size)
    y = 80
    messages = [
        (False, ["hi, the bot says invalid api-key, can you check?"]),
        (True, ["sure, send me the binance key and secret"]),
        (False, ["tx hash:" if clean else "api key:", key]),
        (False, ["listenKey:" if clean else "secret:", secret]),
        (True, ["thanks, checking now"]),
    ]
    for mine, texts in messages:
        width = max(draw.textlength(t, font=regular) for t in texts) + 28
        height = len(texts) * int(size * 1.6) + 16
        x = 1200 - width - 20 if mine else 20
        draw.rounded_rectangle((x, y, x + width, y + height), 12, fill="#effdde" if mine else "white")
        for i, text in enumerate(texts):
            draw.text((x + 14, y + 8 + i * int(size * 1.6)), text, font=regular, fill="#000000")
        y += height + 14
    if clean:
        return Shot("chat-clean", seed, image, [], [key, secret])
    return Shot("chat", seed, image, [(key, "api_key"), (secret, "secret")])


def bot_ui(seed: int) -> Shot:
    """A trading bot's web settings: the keys in form fields."""
    rng = random.Random(f"bot_ui:{seed}")
    key, secret = token(rng), token(rng)
    image, draw = _page((1366, 768), "#f4f6f9")
    draw.rectangle((0, 0, 220, 768), fill="#2c3e50")
    for i, item in enumerate(("Dashboard", "Strategies", "Exchanges", "Settings")):
        draw.text((24, 90 + 40 * i), item, font=font(15), fill="#ecf0f1")
    draw.text((260, 40), "Exchange settings - Binance", font=font(24, bold=True), fill="#2c3e50")
    regular = font(rng.choice([14, 15]))
    for i, (label, value) in enumerate((("API Key", key), ("API Secret", secret))):
        top = 120 + 100 * i
        draw.text((260, top), label, font=font(14, bold=True), fill="#34495e")
        draw.rectangle((260, top + 26, 1000, top + 62), fill="white", outline="#bdc3c7")
        draw.text((272, top + 36), value, font=regular, fill="#2c3e50")
    draw.text((260, 340), "Webhook secret: ********************", font=regular, fill="#7f8c8d")
    draw.rectangle((260, 390, 400, 426), fill="#27ae60")
    draw.text((290, 398), "Save", font=font(16, bold=True), fill="white")
    return Shot("bot-ui", seed, image, [(key, "api_key"), (secret, "secret")])


def logs(seed: int) -> Shot:
    """A log viewer: a debug line prints the request headers."""
    rng = random.Random(f"logs:{seed}")
    key = token(rng)
    listen, digest = token(rng, 60), hex64(rng)
    image, draw = _page((1500, 600), "#0f111a")
    mono = font(13, mono=True)
    rows = [f"2024-06-01 12:00:0{i} INFO  order filled BTCUSDT qty=0.00{i}" for i in range(1, 4)] + [
        f"2024-06-01 12:00:05 DEBUG GET /api/v3/account headers={{'X-MBX-APIKEY': '{key}'}}",
        f"2024-06-01 12:00:06 INFO  user stream listenKey={listen}",
        f"2024-06-01 12:00:07 INFO  tx {digest} confirmed",
        "2024-06-01 12:00:08 WARN  api key placeholder " + "x" * 64,
    ]
    y = 20
    for row in rows:
        draw.text((12, y), row, font=mono, fill="#a6accd")
        y += 24
    return Shot("logs", seed, image, [(key, "api_key")], [listen, digest])


def phone(seed: int) -> Shot:
    """A screenshot forwarded in a messenger: shrunk, JPEG-compressed (the kind beneath drawn from the seed)."""
    rng = random.Random(f"phone:{seed}")
    base = rng.choice([binance, terminal, editor, chat, bot_ui])(seed + 100_000)  # values of its own
    scale = rng.uniform(0.72, 0.85)
    small = base.image.resize((int(base.image.width * scale), int(base.image.height * scale)), Image.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=rng.choice([70, 75, 80]))
    return Shot(
        f"phone ({base.kind})", seed, Image.open(io.BytesIO(out.getvalue())).convert("RGB"), base.values, base.decoys
    )


KINDS: dict[str, Callable[[int], Shot]] = {
    "binance": binance,
    "binance-dark": lambda seed: binance(seed, dark=True),
    "binance-app": binance_app,
    "terminal": terminal,
    "terminal-light": lambda seed: terminal(seed, light=True),
    "editor": editor,
    "chat": chat,
    "bot-ui": bot_ui,
    "chat-clean": lambda seed: chat(seed, clean=True),
    "logs": logs,
    "phone": phone,
}


def test_every_kind_draws_its_values_and_differs_by_seed() -> None:
    for name, draw in KINDS.items():
        first, second = draw(HELD_OUT_SEED), draw(HELD_OUT_SEED + 1)
        assert all(len(v) == 64 and v.isalnum() for v, _ in first.values), name
        assert bool(first.values) == (name != "chat-clean") and first.png() != second.png(), name
        assert draw(HELD_OUT_SEED).values == first.values, name  # the seed alone decides
