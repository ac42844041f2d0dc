"""Chat exports: messages scanned one by one, bare pasted keys found, findings located by message."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from conftest import decode, make_canaries, run_keyguard
from keyguard.sources.chat import Message, NotAChatExport, iter_messages


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


def _messages(data: object, platform: str, path: str = "export/chat/result.json") -> list[Message]:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return list(iter_messages(path, raw, platform))


@pytest.mark.parametrize(
    ("raw", "platform", "why"),
    [
        (b'{"messages": [ {"text": "unterminated', "telegram", "not JSON"),
        (b"\xff\xfe\x00garbage", "discord", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "slack", "not JSON"),  # deeper than the parser recurses
        (b'{"id": ' + b"9" * 5000 + b"}", "telegram", "not JSON"),  # an integer too long to convert
        (b'{"messages": []}', "slack", "a Slack channel day file is a JSON list"),
        (b"[1, 2]", "telegram", "a telegram export is a JSON object"),
        (b'{"messages": {"greeting": "hi"}}', "telegram", "a Telegram chat export holds a list of messages"),
        (b'{"chats": {"list": [1]}, "messages": []}', "telegram", "chats.list is a list of chats"),
        (b'{"chats": {"list": [{"messages": 5}]}}', "telegram", "a Telegram chat's messages are a list"),
        (b'{"guild": {}, "messages": "none"}', "discord", "a Discord export holds a list of messages"),
        (b"{}", "irc", "unknown chat platform 'irc'"),
    ],
)
def test_what_is_not_a_chat_export_raises_one_exception_at_the_call(raw, platform, why):
    with pytest.raises(NotAChatExport, match=re.escape(why)):
        iter_messages("x/y/2026-01-01.json", raw, platform)  # raised before any message is asked for
    assert issubclass(NotAChatExport, ValueError)


def test_messages_of_other_shapes_are_passed_over():
    good = {"id": 7, "type": "message", "date": "2026-11-20", "from": "Bob", "text": ["a ", {"text": "b"}, 3]}
    odd = [1, None, "text", [], {"type": "message", "text": {"nested": 1}}, {"type": ["message"], "text": "x"}]
    telegram = _messages(_telegram([*odd, {"text": 5, "from": {"x": 1}}, good]), "telegram")
    assert telegram == [Message("telegram", "Grid bot team", "Bob", "2026-11-20", "7", "a b")]
    discord = {
        "guild": ["not", "an", "object"],
        "channel": {"name": {"x": 1}},
        "messages": [
            {"content": 3, "author": "carol", "embeds": 5},
            {"id": "8", "content": ["x"], "author": {"name": "dan"}, "embeds": [1, {"description": "an embed"}]},
        ],
    }
    assert _messages(discord, "discord") == [
        Message("discord", "#discord", "?", "", "", "3"),
        Message("discord", "#discord", "dan", "", "8", "an embed"),
    ]
    slack = [{"text": ["x"]}, {"text": "hi", "user": ["U1"], "user_profile": "p", "ts": 1.5}, "x"]
    assert _messages(slack, "slack", "/nowhere/chan/2026-01-01.json") == [
        Message("slack", "#chan", "?", "1.5", "1.5", "hi")
    ]


def test_slack_users_file_of_any_content_is_not_fatal(tmp_path):
    channel = tmp_path / "trading"
    channel.mkdir()
    day = channel / "2026-11-12.json"
    for users in (b'[1, {"id": ["U1"]}, {"id": "U1", "name": 2}]', b"{}", b"\xff", b"[" * 50_000):
        (tmp_path / "users.json").write_bytes(users)
        found = _messages([{"user": "U1", "text": "hello", "ts": "1"}], "slack", str(day))
        assert [m.author for m in found] == ["2" if users.startswith(b"[1") else "U1"]


def test_a_json_config_that_only_mentions_messages_is_scanned_as_text(tmp_path, canaries):
    """It looked like a Telegram export (a "messages" key) but holds no list of messages: read as text, its keys
    found (were: read as a chat of no messages, nothing found)."""
    config = {"messages": {"greeting": "hi"}, "binance": {"apiKey": canaries.key, "secretKey": canaries.secret}}
    (tmp_path / "config.json").write_text(json.dumps(config, indent=1))
    findings = _report(tmp_path, "--no-history")["findings"]
    assert sorted((f["path"], f["kind"], f["message"]) for f in findings) == [
        ("config.json", "api_key", None),
        ("config.json", "secret", None),
    ]
