"""The whole response: case folder, signed evidence, reports without secrets, and the offline drill."""

from __future__ import annotations

import json
import subprocess
import sys

from keyguard.evidence.manifest import verify_case
from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.runbook import Person, run_incident


def test_incident_writes_a_sealed_case_with_reports(sandbox, tmp_path):
    entry = sandbox.credentials["victim-withdraw"]
    client = BinanceClient(Credential(entry["api_key"], entry["secret"]), sandbox.base_url, sleep=lambda s: None)
    case = tmp_path / "case"
    case.mkdir()
    result = run_incident(client, case, Person(confirm=lambda q: True), since_days=7)
    names = {p.relative_to(case).as_posix() for p in case.rglob("*") if p.is_file()}
    assert {
        "containment-log.jsonl",
        "containment.json",
        "flags.json",
        "timeline.json",
        "trades.csv",
        "withdrawals.csv",
        "transfers.csv",
        "balances.csv",
        "report.html",
        "support-ticket.md",
        "police-report.md",
        "manifest.json",
    } <= names
    assert any(n.startswith("raw/") for n in names)
    assert result.detection is not None and verify_case(case).intact
    everything = "\n".join((case / n).read_text(errors="replace") for n in names if not n.endswith(".sqlite"))
    assert entry["secret"] not in everything and entry["api_key"] not in everything
    ticket = (case / "support-ticket.md").read_text()
    assert client.credential.redacted_key in ticket and client.credential.fingerprint in ticket
    assert (case / "report.html").read_text().count("<svg") >= 2  # balances and the timeline at least
    (case / "trades.csv").write_text("tampered\n")
    (case / "extra.txt").write_text("x")
    (case / "balances.csv").unlink()
    check = verify_case(case)
    assert (check.changed, check.added, check.missing) == (["trades.csv"], ["extra.txt"], ["balances.csv"])
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "evidence", "verify", str(case)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "changed" in done.stdout


def test_drill_runs_offline_and_scores_itself(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "keyguard", "drill", "wash-trade-theft", "--out", str(tmp_path / "drill")],
        capture_output=True,
        text=True,
        timeout=240,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "score: 24/24 attack trades flagged, 0 other trades flagged" in done.stdout
    assert verify_case(tmp_path / "drill").intact
    flags = json.loads((tmp_path / "drill" / "flags.json").read_text())
    assert flags["estimated_loss_usdt_by_symbol"]["KGTUSDT"] > 10_000


def test_permission_changes_since_the_inventory_last_verified(sandbox, tmp_path, monkeypatch):
    from keyguard.incident.runbook import permission_changes
    from keyguard.inventory.store import Inventory, KeyRecord
    from keyguard.posture.verify import verify

    monkeypatch.setenv("KEYGUARD_INVENTORY", str(tmp_path / "inv.sqlite"))
    entry = sandbox.credentials["victim-bot"]
    client = BinanceClient(Credential(entry["api_key"], entry["secret"]), sandbox.base_url)
    store = Inventory()
    store.add(KeyRecord("bot", "grid", "spot-trading", client.credential.fingerprint, "x", "hmac", "2026-01-01"))
    store.record_verification("bot", verify(client).to_dict())
    sandbox.admin("keys/victim-bot", {"permissions": ["reading", "spot", "withdrawals"]})
    [change] = permission_changes(client.credential.fingerprint, verify(client).to_dict())
    assert change.endswith("(bot): now also enableWithdrawals")


def test_all_keys_responds_for_every_inventory_key_from_the_vault(sandbox, tmp_path):
    from conftest import isolated_env

    env = isolated_env(tmp_path, KEYGUARD_BINANCE_URL=sandbox.base_url)
    for label, key in (("grid", "victim-bot"), ("reader", "victim-rsa")):
        entry = sandbox.credentials[key]
        secret = entry.get("secret") or entry["private_key_pem"]
        subprocess.run(
            [sys.executable, "-m", "keyguard", "vault", "add", label],
            input=f"{entry['api_key']}\n{secret}\n",
            env=env,
            text=True,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "keyguard",
                "keys",
                "add",
                "--label",
                label,
                "--tool",
                label,
                "--profile",
                "read-only",
            ],
            env={**env, "BINANCE_API_KEY": entry["api_key"], **_secret_env(entry, tmp_path)},
            check=True,
            capture_output=True,
        )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "keyguard",
            "incident",
            "--all-keys",
            "--yes",
            "--wait-dead",
            "0",
            "--since",
            "2",
            "--out",
            str(tmp_path / "case"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "== grid (grid) ==" in done.stdout and "== reader (reader) ==" in done.stdout, done.stdout + done.stderr
    assert verify_case(tmp_path / "case" / "grid").intact and verify_case(tmp_path / "case" / "reader").intact


def _secret_env(entry: dict, folder) -> dict[str, str]:
    """An HMAC secret in the environment; a private key only from a file (as keyguard accepts them)."""
    if entry.get("secret"):
        return {"BINANCE_API_SECRET": entry["secret"]}
    pem = folder / f"{entry['label']}.pem"
    pem.write_text(entry["private_key_pem"])
    return {"BINANCE_PRIVATE_KEY_FILE": str(pem)}


def test_drill_audits_with_another_key_when_the_person_gives_one(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "keyguard",
            "drill",
            "leaked-readonly",
            "--audit-key",
            "--delete-after",
            "0",
            "--out",
            str(tmp_path / "drill"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    audit = next(line for line in done.stdout.splitlines() if "audit: complete" in line)
    assert "audit key" in done.stdout and " 0 trades" not in audit
