"""Chat exports: Telegram (`result.json`), Slack export folders, DiscordChatExporter JSON.

Each message's text is scanned on its own and a finding names the message (chat, author, date). People
paste bare keys into chat with no variable name around them, so chat messages also get the chat-only
rules (two key-shaped tokens in one message, or one beside words like binance, api, key, secret).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_CHAT_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Message:
    platform: str  # telegram | slack | discord
    chat: str
    author: str
    date: str
    message_id: str
    text: str

    def location(self) -> str:
        return f"{self.platform} '{self.chat}' message {self.message_id} by {self.author} at {self.date}"


class NotAChatExport(ValueError):
    """The file is not the chat export its name and first bytes suggested: not JSON, or not of that shape.

    The only exception `iter_messages` raises, at the call (before any message); the file is then text.
    """


def _scalar(value: Any) -> str:
    """A string, number or boolean as text; anything else (lists, objects, null) as ''."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return ""


def _field(record: Any, *names: str) -> str:
    """The first of `names` that the record (an object) holds as a non-empty scalar, else ''."""
    if not isinstance(record, dict):
        return ""
    for name in names:
        text = _scalar(record.get(name))
        if text:
            return text
    return ""


def _list(record: dict, name: str) -> list:
    value = record.get(name, [])
    return value if isinstance(value, list) else []


def _telegram_text(value: Any) -> str:
    """A message's text: a string, or a list of strings and entities ({"type": "code", "text": ...})."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = (part.get("text") if isinstance(part, dict) else part for part in value)
        return "".join(part for part in parts if isinstance(part, str))
    return ""


def _telegram_chats(document: dict) -> list[dict]:
    chats = document.get("chats")
    listed = chats.get("list") if isinstance(chats, dict) else None
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(chat, dict) for chat in listed):
            raise NotAChatExport("a Telegram export's chats.list is a list of chats")
        if not all(isinstance(chat.get("messages", []), list) for chat in listed):
            raise NotAChatExport("a Telegram chat's messages are a list")
        return listed
    if not isinstance(document.get("messages"), list):
        raise NotAChatExport("a Telegram chat export holds a list of messages")
    return [document]


def _telegram(chats: list[dict]) -> Iterator[Message]:
    for chat in chats:
        name = _field(chat, "name", "id") or "telegram"
        for message in _list(chat, "messages"):
            if not isinstance(message, dict) or message.get("type", "message") != "message":
                continue
            text = _telegram_text(message.get("text"))
            if text:
                yield Message(
                    "telegram",
                    name,
                    _field(message, "from", "from_id") or "?",
                    _field(message, "date"),
                    _field(message, "id"),
                    text,
                )


def _discord(document: dict) -> Iterator[Message]:
    channel = document.get("channel") or {}
    name = "#" + (_field(channel, "name") or "discord") if isinstance(channel, dict) else "discord"
    guild = _field(document.get("guild"), "name")
    if guild:
        name = f"{guild} {name}"
    for message in _list(document, "messages"):
        if not isinstance(message, dict):
            continue
        text = _scalar(message.get("content"))
        embeds = " ".join(_field(embed, "description") for embed in _list(message, "embeds"))
        if text or embeds.strip():
            yield Message(
                "discord",
                name,
                _field(message.get("author"), "nickname", "name") or "?",
                _field(message, "timestamp"),
                _field(message, "id"),
                f"{text} {embeds}".strip(),
            )


def _slack_users(export_root: str) -> dict[str, str]:
    try:
        with open(os.path.join(export_root, "users.json"), "rb") as handle:
            users = json.loads(handle.read(MAX_CHAT_FILE_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(users, list):
        return {}
    return {
        _field(user, "id"): _field(user, "real_name", "name", "id")
        for user in users
        if isinstance(user, dict) and _field(user, "id")
    }


def _slack(messages: list, path: str) -> Iterator[Message]:
    channel_dir = os.path.dirname(os.path.abspath(path))
    users = _slack_users(os.path.dirname(channel_dir))
    channel = "#" + os.path.basename(channel_dir)
    for message in messages:
        if not isinstance(message, dict):
            continue
        text = _scalar(message.get("text"))
        if not text:
            continue
        user = _field(message, "user") or "?"
        yield Message(
            "slack",
            channel,
            _field(message.get("user_profile"), "real_name") or users.get(user) or user,
            _field(message, "ts"),
            _field(message, "client_msg_id", "ts"),
            text,
        )


def chat_platform(path: str, head: bytes) -> str | None:
    """Which export format a JSON file looks like, from its name and first bytes."""
    if not path.endswith(".json"):
        return None
    name = os.path.basename(path)
    if head.lstrip().startswith(b"[") and len(name) == len("2026-01-01.json") and name[4] == "-" and b'"ts"' in head:
        return "slack"
    if b'"messages"' not in head and b'"chats"' not in head:
        return None
    if b'"guild"' in head or b'"channel"' in head and b'"exportedAt"' in head:
        return "discord"
    return "telegram"


def iter_messages(path: str, data: bytes, platform: str) -> Iterator[Message]:
    """The messages of an export, of any bytes without raising, except NotAChatExport at the call when `data`
    is not JSON or not of the platform's shape. Messages and fields of other shapes are passed over."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:  # also not UTF-8, too deeply nested, too long a number
        raise NotAChatExport(f"not JSON: {error}") from None
    if platform == "slack":
        if not isinstance(document, list):
            raise NotAChatExport("a Slack channel day file is a JSON list of messages")
        return _slack(document, path)
    if platform not in ("discord", "telegram"):
        raise NotAChatExport(f"unknown chat platform {platform!r}")
    if not isinstance(document, dict):
        raise NotAChatExport(f"a {platform} export is a JSON object")
    if platform == "discord":
        if not isinstance(document.get("messages"), list):
            raise NotAChatExport("a Discord export holds a list of messages")
        return _discord(document)
    return _telegram(_telegram_chats(document))
