"""`keyguard rotate`: guided rotation of a key to a new one that matches its profile."""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.request
from contextlib import nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape

from keyguard.cli.common import fail, read_pair

if TYPE_CHECKING:  # imported when run: they load ccxt, which every other command start would pay for
    from keyguard.exchange.client import BinanceClient
    from keyguard.posture.profiles import Profile
    from keyguard.posture.verify import Verification
    from keyguard.vault.store import Backend, Entry

UI_STEPS = (
    "Open binance.com > Account > API Management and press Create API.",
    "Choose 'Self-generated' (Ed25519, Binance's recommendation) or 'System generated'; name it {label}.",
    "Permissions: {permissions} — nothing else (no withdrawals, no universal transfer).",
    "Choose 'Restrict access to trusted IPs only' and add: {ips}.",
    "Confirm with your 2FA, then paste the new API key and its secret (or private key) here.",
)
PLAIN_PROGRESS_SECONDS = 30.0
SUB_ACCOUNT_IP_LIST = "sapi_get_sub_account_subaccountapi_iprestriction"


def rotate_command(
    label: Annotated[str, typer.Argument(help="The inventory and vault label of the key to rotate.")],
    base_url: Annotated[str | None, typer.Option("--base-url", help="Binance API base URL.")] = None,
    wait_dead: Annotated[float, typer.Option("--wait-dead", min=0, help="Seconds to wait for the old key.")] = 900,
    master: Annotated[
        str | None,
        typer.Option("--master", help="Vault label of the master account's key, to read a sub-account key's IPs."),
    ] = None,
    sub_account: Annotated[
        str | None, typer.Option("--sub-account", help="E-mail of the sub-account the key belongs to (with --master).")
    ] = None,
) -> None:
    """Guided rotation: create the new key as its profile says, check it (permissions, IP whitelist), switch
    `keyguard run` to it, remind you to restart the tools that use it, then wait for the old key's deletion.

    Example: keyguard rotate quant-trading
    """
    import os

    from keyguard.cli.keys import _profiles
    from keyguard.exchange.client import BinanceClient
    from keyguard.inventory.store import Inventory
    from keyguard.posture.verify import verify
    from keyguard.vault.store import VaultError, new_entry, open_backend

    if (master is None) != (sub_account is None):
        raise fail("--master and --sub-account go together: the master key reads the sub-account key's IP list")
    console = Console()
    url = base_url or os.environ.get("KEYGUARD_BINANCE_URL")
    store = Inventory()
    record = store.get(label)
    try:
        backend = open_backend()
        entries = backend.load()
    except VaultError as error:
        raise fail(str(error)) from None
    if record is None or label not in entries:
        raise fail(f"{label} must be in the inventory (keyguard keys add) and in the vault (keyguard vault add)")
    if master is not None and master not in entries:
        raise fail(f"--master {master} is not in the vault (keyguard vault add {master})")
    profile = _profiles()[record.profile]
    _show_steps(console, label, profile.allow, record.expected_ips)
    try:
        api_key, secret = read_pair()
    except ValueError as error:
        raise fail(str(error)) from None
    fresh = new_entry(label, api_key, secret)
    result = verify(BinanceClient(fresh.credential, url))
    problems = _problems(result, profile, record.expected_ips, url)
    if not problems and master is not None and sub_account is not None:
        problems = _sub_account_problems(entries[master], sub_account, api_key, record.expected_ips, url)
    if problems:
        for problem in problems:
            console.print(f"[red]  - {escape(problem)}[/red]")
        raise fail("the new key does not match its profile; fix it in API Management and run rotate again")
    old = _switch(backend, label, fresh)
    store.replace_key(label, fresh.credential.fingerprint, fresh.credential.redacted_key, fresh.credential.key_type)
    store.record_verification(label, result.to_dict())
    _remind_restart(console, label, record.tool, fresh.credential.redacted_key, old.credential.redacted_key)
    if _wait_for_deletion(console, BinanceClient(old.credential, url), wait_dead, old.credential.redacted_key):
        if not backend.keeps_history:
            _forget_old(backend, f"{label}.old")
        console.print(f"the old key is dead; rotation of {label} complete")
        console.print(f"A tool still running with the old key now fails (-2015): restart it with {_run_line(label)}")
        raise typer.Exit(0)
    kept = f"in the history of the entry {label}" if backend.keeps_history else f"in the vault as {label}.old"
    console.print(
        f"[yellow]the old key still answers after {wait_dead:.0f} s; it stays {kept} until you delete it[/yellow]"
    )
    raise typer.Exit(1)


def _switch(backend: Backend, label: str, fresh: Entry) -> Entry:
    """The label now holds the new key, the old one kept in the entry's history (KeePass) or as LABEL.old; read
    and written under the vault's lock, since minutes passed while the person made the new key."""
    from keyguard.vault.store import VaultError

    try:
        with backend.edit() as current:
            old = current[label]
            if not backend.keeps_history:
                current[f"{label}.old"] = replace(old, label=f"{label}.old")
            current[label] = fresh
    except KeyError:
        raise fail(f"{label} left the vault while the new key was made; nothing changed") from None
    except VaultError as error:
        raise fail(str(error)) from None
    return old


def _forget_old(backend: Backend, old_label: str) -> None:
    """Drops the dead key, re-reading the vault under its lock: other labels may have changed while we waited."""
    from keyguard.vault.store import VaultError

    try:
        with backend.edit() as current:
            current.pop(old_label, None)
    except VaultError as error:
        kept = f"the dead key stays in the vault as {old_label} (keyguard vault remove {old_label})"
        raise fail(f"{error}; {kept}") from None


def _show_steps(console: Console, label: str, allow: frozenset[str], expected_ips: list[str]) -> None:
    from keyguard.posture.profiles import PERMISSIONS

    names = {field: short for short, field in PERMISSIONS.items()}
    values = {
        "label": label,
        "permissions": ", ".join(sorted(names[p] for p in allow)),
        "ips": ", ".join(expected_ips) or "the address your bot runs from",
    }
    for number, step in enumerate(UI_STEPS, start=1):
        console.print(f"  {number}. " + step.format(**values))


def _problems(result: Verification, profile: Profile, expected_ips: list[str], url: str | None) -> list[str]:
    """Why the new key must be refused: beyond its profile, or whitelisted to other addresses than expected."""
    seen_from = calling_address(url) if expected_ips else None
    if result.status != "live":
        found = [f"the new key is {result.status}"]
        if result.status == "dead" and expected_ips and seen_from not in _normalised(expected_ips):
            found.append(
                f"Binance rejects it from this machine ({seen_from or 'address unknown'}), which is not among "
                f"the expected {', '.join(expected_ips)}: if the key is whitelisted to those only, that is "
                "right: run keyguard rotate on one of them"
            )
        return found
    return profile.violations(result) + ip_problems(expected_ips, result.ip_restricted, seen_from, None)


def ip_problems(
    expected: list[str], ip_restricted: bool | None, seen_from: str | None, ip_list: list[str] | None
) -> list[str]:
    """How a key's IP restriction, as far as Binance tells it, differs from the addresses the profile expects.

    ip_restricted: apiRestrictions' ipRestrict; seen_from: the address this machine calls Binance from, when
    it can be known (the key answered it, so it is on the whitelist); ip_list: the whitelist itself, which
    Binance gives for sub-account keys only (to the master account).
    """
    if not expected:
        return []
    wanted = _normalised(expected)
    shown = ", ".join(expected)
    if ip_restricted is False:
        return [f"no IP whitelist: Binance accepts the key from any address, not only {shown}"]
    found = []
    if seen_from is not None and seen_from not in wanted:
        found.append(
            f"the key is whitelisted to {seen_from} (it answers this machine, which calls from there), "
            f"not only to {shown}"
        )
    if ip_list is not None:
        listed = _normalised(ip_list)
        extra, missing = sorted(listed - wanted), sorted(wanted - listed)
        if extra:
            found.append(f"the key's IP whitelist also holds {', '.join(extra)}, which the profile does not list")
        if missing:
            found.append(f"the key's IP whitelist lacks {', '.join(missing)}: the tool there would be refused")
    return found


def _normalised(addresses: list[str]) -> set[str]:
    def one(text: str) -> str:
        try:
            return str(ipaddress.ip_address(text.strip()))
        except ValueError:
            return text.strip()

    return {one(a) for a in addresses if a.strip()}


def calling_address(base_url: str | None) -> str | None:
    """The address Binance sees this machine call from, when this machine can tell: no proxy, and the
    source address the OS picks towards the API is loopback or public (behind NAT it cannot be known here)."""
    from keyguard.exchange.client import DEFAULT_BASE_URL

    parts = urlsplit(base_url or DEFAULT_BASE_URL)
    host = parts.hostname
    if not host or (urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(host)):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(address)  # UDP: nothing is sent; the OS only picks the route and source address
            local = ipaddress.ip_address(probe.getsockname()[0])
    except (OSError, ValueError, IndexError):
        return None
    return str(local) if local.is_loopback or local.is_global else None


def _sub_account_problems(master: Entry, email: str, api_key: str, expected: list[str], url: str | None) -> list[str]:
    """The whitelist of a sub-account key as its master account reads it, against the expected IPs."""
    from keyguard.exchange.client import BinanceClient, ExchangeError

    try:
        answer = BinanceClient(master.credential, url).call(
            SUB_ACCOUNT_IP_LIST, {"email": email, "subAccountApiKey": api_key}
        )
    except ExchangeError as error:
        return [f"the master key could not read the new key's IP whitelist: {error}"]
    restricted = str(answer.get("ipRestrict", "")).lower() == "true"
    return ip_problems(expected, restricted, None, [str(ip) for ip in answer.get("ipList") or []])


def _run_line(label: str) -> str:
    return f"`keyguard run --key {label} -- <the tool's command>`"


def _remind_restart(console: Console, label: str, tool: str, new: str, old: str) -> None:
    console.print(f"`keyguard run --key {label}` now uses {new}.")
    console.print(
        f"[bold]Restart {tool} and every other tool that uses {label} now[/bold]: a running tool keeps the old key "
        f"until it is started again with {_run_line(label)}."
    )
    console.print(f"Then delete the old key {old} in API Management; keyguard waits until Binance rejects it.")


class WaitProgress:
    """What the person sees while the old key is polled: a live line at a terminal (elapsed, left, polls),
    else a plain line every PLAIN_PROGRESS_SECONDS."""

    def __init__(self, console: Console, client: BinanceClient, total: float, redacted: str) -> None:
        self.console = console
        self.client = client
        self.total = total
        self.redacted = redacted
        self.started = time.monotonic()
        self.next_plain = PLAIN_PROGRESS_SECONDS
        self.status: Any = None

    def line(self, left: float) -> str:
        elapsed = time.monotonic() - self.started
        return (
            f"waiting for Binance to reject the old key {self.redacted}: {elapsed:.0f} s elapsed, "
            f"{max(left, 0):.0f} s left, {self.client.stats.calls} polls (delete it in API Management)"
        )

    def tick(self, left: float) -> None:
        if self.status is not None:
            self.status.update(self.line(left))
        elif time.monotonic() - self.started >= self.next_plain:
            self.console.print(self.line(left))
            self.next_plain += PLAIN_PROGRESS_SECONDS


def _wait_for_deletion(console: Console, client: BinanceClient, seconds: float, redacted: str) -> bool:
    from keyguard.incident.actions import ActionLog
    from keyguard.incident.contain import poll_until_dead

    progress = WaitProgress(console, client, seconds, redacted)
    if not console.is_terminal:
        console.print(f"waiting up to {seconds:.0f} s for Binance to reject the old key {redacted}")
    live = console.status(progress.line(seconds)) if console.is_terminal else nullcontext()
    with live as status:
        progress.status = status
        return poll_until_dead(client, ActionLog(), seconds, on_tick=progress.tick)
