"""Chat exports: messages scanned one by one, bare pasted keys found, findings located by message."""

from __future__ import annotations

import hashlib
import json

from conftest import decode, make_canaries, run_keyguard


def _report(tmp_path, *args: str) -> dict:
    done = run_keyguard("scan", "-f", "json", *args, cwd=tmp_path)
    assert done.returncode in (0, 1), decode(done)[1]
    return json.loads(decode(done)[0])


def _telegram(messages: list[dict]) -> dict:
    return {"name": "Grid bot team", "type": "private_group", "id": 42, "messages": messages}


def test_telegram_bare_key_and_secret_pasted_in_a_message(tmp_path, canaries):
    other = make_canaries(55)
    export = _telegram(
        [
            {"id": 1, "type": "message", "date": "2026-11-20T10:00:00", "from": "Alice", "text": "morning"},
            {
                "id": 2,
                "type": "message",
                "date": "2026-11-20T10:01:00",
                "from": "Bob",
                "text": [f"here: {canaries.key}\n", {"type": "code", "text": canaries.secret}],
            },
            {
                "id": 3,
                "type": "message",
                "date": "2026-11-20T10:02:00",
                "from": "Bob",
                "text": f"oh and the binance secret for the other bot is {other.secret}",
            },
            {
                "id": 4,
                "type": "message",
                "date": "2026-11-20T10:03:00",
                "from": "Alice",
                "text": f"tx {hashlib.sha256(b'x').hexdigest()} confirmed, order {other.key} filled",
            },
            {"id": 5, "type": "service", "date": "2026-11-20T10:04:00", "actor": "Bob", "action": "pin_message"},
        ]
    )
    (tmp_path / "result.json").write_text(json.dumps(export, indent=1))
    findings = _report(tmp_path)["findings"]
    summary = [(f["kind"], f["rule_id"], f["message"]) for f in findings]
    assert summary == [
        ("api_key", "binance.chat.key-and-secret", "telegram 'Grid bot team' message 2 by Bob at 2026-11-20T10:01:00"),
        ("secret", "binance.chat.key-and-secret", "telegram 'Grid bot team' message 2 by Bob at 2026-11-20T10:01:00"),
        ("secret", "binance.chat.bare-secret", "telegram 'Grid bot team' message 3 by Bob at 2026-11-20T10:02:00"),
    ]
    raw = (tmp_path / "result.json").read_text().splitlines()
    assert canaries.key in raw[findings[0]["line"] - 1] and findings[0]["paired_with"] == findings[1]["secret_sha256"]


def test_telegram_full_export_and_discord(tmp_path, canaries):
    full = {
        "about": "export",
        "chats": {
            "list": [
                _telegram(
                    [
                        {
                            "id": 9,
                            "type": "message",
                            "date": "2026-11-21T08:00:00",
                            "from": "Eve",
                            "text": f"BINANCE_API_SECRET={canaries.secret}",
                        }
                    ]
                )
            ]
        },
    }
    (tmp_path / "telegram").mkdir()
    (tmp_path / "telegram" / "result.json").write_text(json.dumps(full))
    discord = {
        "guild": {"id": "1", "name": "Quant club"},
        "channel": {"id": "2", "name": "bots"},
        "exportedAt": "2026-11-22T00:00:00",
        "messages": [
            {
                "id": "77",
                "timestamp": "2026-11-21T09:00:00+00:00",
                "content": f"api key {canaries.key}",
                "author": {"id": "5", "name": "carol", "nickname": "Carol"},
                "embeds": [],
            }
        ],
    }
    (tmp_path / "discord.json").write_text(json.dumps(discord))
    messages = sorted(f["message"] for f in _report(tmp_path)["findings"])
    assert messages == [
        "discord 'Quant club #bots' message 77 by Carol at 2026-11-21T09:00:00+00:00",
        "telegram 'Grid bot team' message 9 by Eve at 2026-11-21T08:00:00",
    ]


def test_slack_export_folder(tmp_path, canaries):
    export = tmp_path / "slack"
    (export / "trading").mkdir(parents=True)
    (export / "users.json").write_text(json.dumps([{"id": "U1", "name": "dan", "real_name": "Dan Q"}]))
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "trading"}]))
    day = [
        {"type": "message", "user": "U1", "text": "new binance key for the bot", "ts": "1763000000.000100"},
        {"type": "message", "user": "U1", "text": f"{canaries.key} {canaries.secret}", "ts": "1763000001.000200"},
    ]
    (export / "trading" / "2026-11-12.json").write_text(json.dumps(day, indent=2))
    findings = _report(tmp_path)["findings"]
    assert [(f["kind"], f["message"]) for f in findings] == [
        ("api_key", "slack '#trading' message 1763000001.000200 by Dan Q at 1763000001.000200"),
        ("secret", "slack '#trading' message 1763000001.000200 by Dan Q at 1763000001.000200"),
    ]


def test_ordinary_chat_and_broken_json_are_not_leaks(tmp_path):
    export = _telegram(
        [
            {
                "id": 1,
                "type": "message",
                "date": "2026-11-20T10:00:00",
                "from": "A",
                "text": f"lunch? {make_canaries(3).key}",
            }
        ]
    )
    (tmp_path / "result.json").write_text(json.dumps(export))
    (tmp_path / "broken.json").write_text('{"messages": [ {"text": "unterminated')
    report = _report(tmp_path)
    assert report["findings"] == [] and report["stats"]["files_scanned"] == 2


def test_a_chat_shaped_file_of_other_types_does_not_stop_the_scan(tmp_path, canaries):
    """Text parts that are not strings or entities, a chat list of numbers: the file is read as text and the
    scan goes on to the key beside it."""
    (tmp_path / "result.json").write_text(json.dumps({"messages": [{"text": [1]}], "chats": {"list": [1]}}))
    (tmp_path / "odd.json").write_text(json.dumps({"messages": [{"type": "message", "text": [1, {"text": 2}]}]}))
    (tmp_path / ".env").write_text(f"BINANCE_API_SECRET={canaries.secret}\n")
    report = _report(tmp_path, "--no-history")
    assert [f["path"] for f in report["findings"]] == [".env"]
    assert report["stats"]["files_scanned"] == 3
