"""`keyguard redact` and the logging filter: a value found anywhere is masked everywhere, in any form."""

from __future__ import annotations

import base64
import io
import json
import logging
import zipfile

from conftest import decode, make_canaries, run_keyguard
from keyguard.model import redact as masked
from keyguard.vault.redact import Masker, StreamMasker, install

PLACEHOLDER = "not a secret at all, only a certificate placeholder that is long enough"
TICKS = "".join(f"2026-01-02 10:{i % 60:02d}:00 INFO tick {i} price=1.{i}\n" for i in range(300))


def label(value: str) -> str:
    return f"[REDACTED {masked(value.encode())}]"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_value_found_once_is_masked_everywhere_in_the_log(tmp_path, canaries):
    log = (
        f"BINANCE_API_KEY={canaries.key}\n"
        f"api_secret = '{canaries.secret}'\n"
        f"{TICKS}"
        f"ws connected, listenKey for {canaries.key}\n"
        f"saved /tmp/cache_{canaries.key}.json\n"
        f"ValueError: bad signature for {canaries.secret}\n"
    )
    (tmp_path / "bot.log").write_text(log)
    out, err = decode(run_keyguard("redact", "bot.log", cwd=tmp_path))
    assert canaries.key not in out and canaries.secret not in out, err
    assert out.count(label(canaries.key)) == 3 and out.count(label(canaries.secret)) == 2
    assert out.count("\n") == log.count("\n") and TICKS in out


def test_a_kubernetes_secret_is_masked_in_base64(tmp_path, canaries):
    env_file = f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\n"
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: binance-bot\n"
        f"  annotations:\n    backup: {b64(canaries.key)}\n"
        "type: Opaque\ndata:\n"
        f"  BINANCE_API_KEY: {b64(canaries.key)}\n"
        f"  BINANCE_API_SECRET: {b64(canaries.secret)}\n"
        f"  .env: {b64(env_file)}\n"
        f"  ca.crt: {b64(PLACEHOLDER)}\n"
    )
    (tmp_path / "secret.yaml").write_text(manifest)
    out, err = decode(run_keyguard("redact", "secret.yaml", cwd=tmp_path))
    for encoded in (b64(canaries.key), b64(canaries.secret), b64(env_file)):
        assert encoded not in out, err
    assert out.count(f"[REDACTED base64 {masked(canaries.key.encode())}]") == 3  # the annotation, key, .env
    assert f"  BINANCE_API_SECRET: [REDACTED base64 {masked(canaries.secret.encode())}]\n" in out
    assert out.startswith("apiVersion: v1\nkind: Secret\n") and f"  ca.crt: {b64(PLACEHOLDER)}\n" in out


def _message(number: int, author: str, text: str | list) -> dict:
    return {"id": number, "type": "message", "date": f"2026-01-02T10:0{number}:00", "from": author, "text": text}


def _telegram_export(canaries) -> str:
    messages = [
        _message(1, "Ann", "can you run the bot?"),
        _message(2, "Bob", "send me the keys"),
        _message(3, "Ann", f"{canaries.key}\n{canaries.secret}"),
        _message(4, "Bob", ["copied: ", {"type": "code", "text": canaries.key}]),
    ]
    return json.dumps({"name": "trading", "type": "personal_chat", "id": 42, "messages": messages}, indent=1)


def test_a_key_pasted_bare_in_a_telegram_export_is_masked(tmp_path, canaries):
    export = _telegram_export(canaries)
    (tmp_path / "result.json").write_text(export)
    from_file = run_keyguard("redact", "result.json", cwd=tmp_path)
    from_stdin = run_keyguard("redact", "-", cwd=tmp_path, stdin=export.encode())
    for done in (from_file, from_stdin):
        out, err = decode(done)
        assert done.returncode == 0 and canaries.key not in out and canaries.secret not in out, err
        messages = json.loads(out)["messages"]
        assert messages[2]["text"] == f"{label(canaries.key)}\n{label(canaries.secret)}"
        assert messages[3]["text"][1]["text"] == label(canaries.key)
        assert messages[1]["text"] == "send me the keys"


def test_a_private_key_is_masked_escaped_in_json_and_line_by_line(tmp_path, canaries):
    pem = canaries.rsa_pem
    body = pem.splitlines()[1:-1]
    config = json.dumps({"exchange": "binance", "private_key": pem}, indent=1)
    echoed = "\r\n".join(pem.splitlines())  # the same key printed elsewhere with Windows line ends
    (tmp_path / "debug.log").write_text(f"loaded config {config}\n{TICKS}{echoed}\n")
    out, err = decode(run_keyguard("redact", "debug.log", cwd=tmp_path))
    assert not [line for line in body if line in out], err
    assert "".join(body) not in out.replace("\\n", "").replace("\n", "")
    assert f'"private_key": "{label(pem)}"' in out


def test_a_utf16_log_stays_utf16_and_masked(tmp_path, canaries):
    log = f"BINANCE_API_KEY={canaries.key}\r\n{TICKS}listenKey for {canaries.key}\r\n"
    (tmp_path / "bot.log").write_bytes(log.encode("utf-16"))  # with its byte-order mark, as PowerShell writes
    done = run_keyguard("redact", "bot.log", cwd=tmp_path)
    out = done.stdout.decode("utf-16")
    assert canaries.key not in out and out.count(label(canaries.key)) == 2, done.stderr


def test_an_archive_is_refused_with_the_command_that_reads_it(tmp_path, canaries):
    with zipfile.ZipFile(tmp_path / "logs.zip", "w") as archive:
        archive.writestr("bot.log", f"BINANCE_API_KEY={canaries.key}\n")
    done = run_keyguard("redact", "logs.zip", cwd=tmp_path)
    out, err = decode(done)
    assert done.returncode == 2 and out == "" and "keyguard scan logs.zip" in err


def test_the_logging_filter_masks_in_later_records_what_an_earlier_one_showed(canaries):
    other = make_canaries(61)
    stream = io.StringIO()
    logger = logging.getLogger("test.redact.bot")
    logger.addHandler(logging.StreamHandler(stream))
    logger.setLevel(logging.DEBUG)
    install(logger)
    logger.debug("request headers %s", {"X-MBX-APIKEY": canaries.key})
    logger.info("secret=%s", other.secret)
    logger.info("listenKey renewed for %s; signing with %s", canaries.key, other.secret)
    logger.info("nothing secret here")
    lines = stream.getvalue().splitlines()
    assert canaries.key not in stream.getvalue() and other.secret not in stream.getvalue()
    assert lines[2] == f"listenKey renewed for {label(canaries.key)}; signing with {label(other.secret)}"
    assert lines[3] == "nothing secret here"


def test_a_stream_split_anywhere_is_masked_as_a_whole(canaries):
    text = f"start {canaries.key} middle {canaries.ed25519_pem}\nend {canaries.secret}".encode()
    masker = Masker([canaries.key.encode(), canaries.secret.encode(), canaries.ed25519_pem.encode()])
    whole = masker.replace(text)
    assert canaries.key.encode() not in whole and b"middle [REDACTED" in whole
    for cut in range(len(text) + 1):
        stream = StreamMasker(masker)
        assert stream.feed(text[:cut]) + stream.feed(text[cut:]) + stream.finish() == whole
    stream = StreamMasker(masker)
    assert stream.feed(b"plain text, no key in it: ") == b"plain text, no key in it: "  # nothing held back
