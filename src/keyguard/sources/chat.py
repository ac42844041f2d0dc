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


def _telegram_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = (part.get("text", "") if isinstance(part, dict) else part for part in value)
        return "".join(text for text in texts if isinstance(text, str))
    return ""


def _telegram(document: dict) -> Iterator[Message]:
    chats = document.get("chats", {}).get("list") if isinstance(document.get("chats"), dict) else None
    for chat in chats if chats is not None else [document]:
        name = str(chat.get("name") or chat.get("id") or "telegram")
        for message in chat.get("messages", []):
            if not isinstance(message, dict) or message.get("type", "message") != "message":
                continue
            text = _telegram_text(message.get("text"))
            if text:
                yield Message(
                    "telegram",
                    name,
                    str(message.get("from") or message.get("from_id") or "?"),
                    str(message.get("date", "")),
                    str(message.get("id", "")),
                    text,
                )


def _discord(document: dict) -> Iterator[Message]:
    channel = document.get("channel") or {}
    name = "#" + str(channel.get("name", "discord")) if isinstance(channel, dict) else "discord"
    guild = document.get("guild") or {}
    if isinstance(guild, dict) and guild.get("name"):
        name = f"{guild['name']} {name}"
    for message in document.get("messages", []):
        if not isinstance(message, dict):
            continue
        author = message.get("author") or {}
        text = str(message.get("content") or "")
        embeds = " ".join(str(e.get("description", "")) for e in message.get("embeds", []) if isinstance(e, dict))
        if text or embeds:
            yield Message(
                "discord",
                name,
                str(author.get("nickname") or author.get("name") or "?"),
                str(message.get("timestamp", "")),
                str(message.get("id", "")),
                f"{text} {embeds}".strip(),
            )


def _slack_users(export_root: str) -> dict[str, str]:
    try:
        with open(os.path.join(export_root, "users.json"), encoding="utf-8") as handle:
            users = json.load(handle)
    except (OSError, ValueError):
        return {}
    return {
        u.get("id", ""): u.get("real_name") or u.get("name") or u.get("id", "") for u in users if isinstance(u, dict)
    }


def _slack(messages: list, path: str) -> Iterator[Message]:
    channel_dir = os.path.dirname(os.path.abspath(path))
    users = _slack_users(os.path.dirname(channel_dir))
    channel = "#" + os.path.basename(channel_dir)
    for message in messages:
        if not isinstance(message, dict) or not message.get("text"):
            continue
        profile = message.get("user_profile") or {}
        user = message.get("user", "?")
        author = profile.get("real_name") or users.get(user) or user
        yield Message(
            "slack",
            channel,
            str(author),
            str(message.get("ts", "")),
            str(message.get("client_msg_id") or message.get("ts", "")),
            str(message["text"]),
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
    """The messages of an export; raises ValueError when the file is not valid JSON."""
    document = json.loads(data)
    if platform == "slack":
        if not isinstance(document, list):
            raise ValueError("a Slack channel day file is a JSON list of messages")
        yield from _slack(document, path)
    elif not isinstance(document, dict):
        raise ValueError(f"a {platform} export is a JSON object")
    elif platform == "discord":
        yield from _discord(document)
    else:
        yield from _telegram(document)
