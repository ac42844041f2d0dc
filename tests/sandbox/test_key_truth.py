"""The truth about a key under a flaky exchange: rate limits, bans, 5xx, proxies, deleted and IP-bound keys,
and typed keys that are not keys. Real sandbox, real ccxt, keyguard's BinanceClient and verify()."""

from __future__ import annotations

import logging
import os
import pty
import select
import signal
import subprocess
import sys

import pytest

from keyguard.exchange.client import BinanceClient, ExchangeError
from keyguard.exchange.credentials import Credential, CredentialError, from_environment
from keyguard.posture.verify import verify

DEAD_WORDING = "Binance rejects this key from this machine; confirm in API Management that it is gone"
VALID_LOOKING = "K" * 64


class Sleeps(list):
    """The client's sleep: records each wait instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _client(sandbox, label: str = "victim-bot", **kwargs) -> tuple[BinanceClient, Sleeps]:
    entry = sandbox.credentials[label]
    sleeps = Sleeps()
    credential = Credential(entry["api_key"], entry.get("secret") or entry["private_key_pem"])
    return BinanceClient(credential, sandbox.base_url, sleep=sleeps, **kwargs), sleeps


def test_five_429s_at_the_start_are_waited_out_and_the_key_is_live(sandbox, caplog):
    caplog.set_level(logging.WARNING, logger="keyguard.exchange")
    client, sleeps = _client(sandbox)
    sandbox.admin("faults", {"burst_429": 5})
    result = verify(client)
    assert result.status == "live" and result.live is True
    assert client.stats.rate_limited == 5 and sleeps == [1.0] * 5  # the sandbox's burst sends Retry-After: 1
    assert client.stats.waited_seconds == 5
    assert sum("rate limited (HTTP 429, -1003)" in r.getMessage() for r in caplog.records) == 5


def test_an_ip_ban_418_is_waited_out_per_retry_after(sandbox):
    client, sleeps = _client(sandbox)
    sandbox.admin("faults", {"burst_418": 2, "ban_seconds": 90})
    assert "balances" in client.spot_account()  # /api/v3/account: where Binance bans an IP (§1.5)
    assert sleeps == [90.0, 90.0] and client.stats.rate_limited == 2
    assert verify(client).status == "live"


def test_a_ban_longer_than_the_wait_budget_fails_at_once_as_unavailable(sandbox):
    client, sleeps = _client(sandbox)
    sandbox.admin("faults", {"burst_418": 1, "ban_seconds": 400})
    with pytest.raises(ExchangeError) as failed:
        client.spot_account()
    assert (failed.value.kind, failed.value.status, failed.value.code) == ("unavailable", 418, -1003)
    assert "wait budget" in str(failed.value) and sleeps == []


def test_rate_limits_past_the_budget_make_the_check_unknown(sandbox):
    client, sleeps = _client(sandbox, wait_budget_seconds=3)
    sandbox.admin("faults", {"burst_429": 10})
    result = verify(client)
    assert result.status == "unknown" and result.live is None
    assert sleeps == [1.0] * 3 and "wait budget" in result.reasons[0]


def test_server_errors_with_binance_body_are_retried_until_every_call_succeeds(sandbox, caplog):
    caplog.set_level(logging.WARNING, logger="keyguard.exchange")
    client, sleeps = _client(sandbox)
    sandbox.admin("faults", {"error_rate": 0.2, "error_body": "binance", "error_status": 503})
    results = [verify(client) for _ in range(15)]
    assert all(r.status == "live" and r.account_status == "Normal" for r in results)
    retried = [r.getMessage() for r in caplog.records if "Binance-side error -1001 (HTTP 503)" in r.getMessage()]
    assert retried and len(retried) == len(sleeps)
    assert sleeps[0] == 0.5  # backoff starts at half a second and doubles


def test_server_errors_on_500_and_without_body_are_retried_too(sandbox):
    client, sleeps = _client(sandbox, max_retries=2)
    sandbox.admin("faults", {"error_rate": 1.0, "error_body": "none", "error_status": 502})
    with pytest.raises(ExchangeError) as failed:
        client.api_restrictions()
    assert (failed.value.kind, failed.value.status, failed.value.code) == ("unavailable", 502, None)
    assert sleeps == [0.5, 1.0] and client.stats.calls == 3
    sandbox.admin("faults", {"error_body": "binance", "error_status": 500})
    down = verify(client)
    assert down.status == "unknown" and "could not verify" in down.reasons[0]


def test_timeouts_are_retried_then_unknown(sandbox):
    client, sleeps = _client(sandbox, max_retries=1, timeout_seconds=0.3)
    sandbox.admin("faults", {"timeout_rate": 1.0, "timeout_ms": 1500})
    result = verify(client)
    assert result.status == "unknown" and "no answer (RequestTimeout)" in result.reasons[0]
    assert client.stats.calls == 2 and sleeps == [0.5]


def test_an_unknown_outcome_is_not_repeated_for_a_post(sandbox):
    client, sleeps = _client(sandbox)
    sandbox.admin("faults", {"error_rate": 1.0})
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"}
    with pytest.raises(ExchangeError) as failed:
        client.call("private_post_order", {**order, "price": "1000"})
    assert failed.value.kind == "unavailable" and "outcome is unknown" in str(failed.value)
    assert client.stats.calls == 1 and sleeps == []


def test_a_bare_401_from_a_proxy_is_unknown_never_dead(sandbox):
    client, sleeps = _client(sandbox)
    sandbox.admin("faults", {"proxy_401": 1})
    result = verify(client)
    assert result.status == "unknown" and result.live is None and result.severity == "unknown"
    assert "without Binance's error body" in result.reasons[0] and DEAD_WORDING not in result.reasons
    sandbox.admin("faults", {"proxy_401": 1})
    with pytest.raises(ExchangeError) as failed:
        client.api_restrictions()
    assert (failed.value.kind, failed.value.status, failed.value.code) == ("unavailable", 401, None)
    assert verify(client).status == "live"  # the proxy gone, the same key answers


def test_a_deleted_key_is_dead_without_claiming_why(sandbox):
    client, _ = _client(sandbox)
    assert client.spot_account()  # ccxt now files a later -2015 on /api under DDoSProtection, not a rejection
    sandbox.admin("keys/victim-bot/delete")
    with pytest.raises(ExchangeError) as failed:
        client.spot_account()
    assert (failed.value.kind, failed.value.code, failed.value.status) == ("rejected", -2015, 401)
    assert client.stats.rate_limited == 0
    result = verify(client)
    assert (result.status, result.live, result.severity) == ("dead", False, "info")
    assert result.reasons[0] == DEAD_WORDING


def test_a_key_whitelisted_to_another_ip_is_dead_with_the_same_wording(sandbox):
    sandbox.admin("keys/victim-bot", {"ip_whitelist": ["192.0.2.7"]})
    result = verify(_client(sandbox)[0])
    assert result.status == "dead" and result.reasons[0] == DEAD_WORDING
    assert "IP is not on its whitelist" in result.reasons[1]


def test_a_wrong_secret_is_unknown_and_not_a_rejection(sandbox):
    entry = sandbox.credentials["victim-bot"]
    client = BinanceClient(Credential(entry["api_key"], entry["secret"][::-1]), sandbox.base_url, sleep=Sleeps())
    with pytest.raises(ExchangeError) as failed:
        client.api_restrictions()
    assert (failed.value.kind, failed.value.code) == ("error", -1022)
    assert verify(client).status == "unknown"


# --- typed keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["notakey", "A" * 63, "A" * 65, "A" * 63 + "-", "A" * 32 + " " + "A" * 31])
def test_keys_from_the_environment_that_are_not_binance_keys_are_refused(bad):
    with pytest.raises(CredentialError) as refused:
        from_environment({"BINANCE_API_KEY": bad, "BINANCE_API_SECRET": VALID_LOOKING})
    assert "BINANCE_API_KEY" in str(refused.value) and "exactly 64 letters and digits" in str(refused.value)
    assert bad.strip() not in str(refused.value)
    with pytest.raises(CredentialError) as secret:
        from_environment({"BINANCE_API_KEY": VALID_LOOKING, "BINANCE_API_SECRET": bad})
    assert "BINANCE_API_SECRET" in str(secret.value)


def test_a_pem_is_taken_only_from_a_file(sandbox, tmp_path):
    pem = sandbox.credentials["victim-ed25519"]
    with pytest.raises(CredentialError, match="BINANCE_PRIVATE_KEY_FILE"):
        from_environment({"BINANCE_API_KEY": pem["api_key"], "BINANCE_API_SECRET": pem["private_key_pem"]})
    (tmp_path / "key.pem").write_text(pem["private_key_pem"])
    (tmp_path / "junk.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    env = {"BINANCE_API_KEY": pem["api_key"], "BINANCE_PRIVATE_KEY_FILE": str(tmp_path / "key.pem")}
    assert from_environment(env).key_type == "ed25519"
    with pytest.raises(CredentialError, match="not a readable PEM private key"):
        from_environment({**env, "BINANCE_PRIVATE_KEY_FILE": str(tmp_path / "junk.pem")})


PROMPT_PROGRAM = (
    "from keyguard.exchange.credentials import CredentialError, from_prompt\n"
    "try:\n"
    "    c = from_prompt()\n"
    "except CredentialError as e:\n"
    "    print('GAVE UP:', e); raise SystemExit(2)\n"
    "print('ACCEPTED', c.key_type, c.redacted_key)\n"
)


def _at_a_terminal(answers: list[str]) -> tuple[int, str]:
    """Runs from_prompt in a child whose controlling terminal is a pty, typing each answer at a prompt."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", PROMPT_PROGRAM])
    seen = b""
    try:
        for answer in answers:
            while not seen.endswith(b"hidden): "):
                chunk = _read(fd)
                assert chunk, f"the prompt ended early: {seen.decode(errors='replace')}"
                seen += chunk
            os.write(fd, answer.encode() + b"\n")
            seen += b"<typed>"
        while chunk := _read(fd):
            seen += chunk
    finally:
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def _read(fd: int) -> bytes:
    ready, _, _ = select.select([fd], [], [], 10)
    assert ready, "the prompt did not answer within 10 s"
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: the child closed the terminal
        return b""


def test_the_prompt_refuses_non_keys_and_asks_again():
    code, seen = _at_a_terminal(["notakey", "A" * 63, VALID_LOOKING, "S" * 64])
    assert code == 0, seen
    assert seen.count("refused: the API key must be exactly 64 letters and digits") == 2
    assert "this one has 7 characters" in seen and "this one has 63 characters; 1 more try" in seen
    assert "ACCEPTED hmac KKKK" in seen and "A" * 63 not in seen and "notakey" not in seen


def test_the_prompt_gives_up_after_three_refusals_and_points_pem_keys_to_a_file():
    code, seen = _at_a_terminal(["notakey", "notakey", "notakey"])
    assert code == 2 and "GAVE UP: the API key must be exactly 64 letters" in seen and "(refused 3 times)" in seen
    code, seen = _at_a_terminal([VALID_LOOKING, "-----BEGIN PRIVATE KEY-----", "S" * 64])
    assert code == 0 and "read only from a PEM file: set BINANCE_PRIVATE_KEY_FILE" in seen


def test_keyguard_verify_refuses_a_typed_non_key_with_a_clear_message():
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "verify"],
        env={"PATH": os.environ["PATH"], "BINANCE_API_KEY": "notakey", "BINANCE_API_SECRET": VALID_LOOKING},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and "exactly 64 letters and digits" in done.stderr
