"""`keyguard vault`, `keyguard run`, `keyguard redact`: keep keys out of files and logs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="The vault: keys kept in the OS keychain or an encrypted file, never in plaintext.", no_args_is_help=True
)


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]keyguard: {message}[/red]")
    return typer.Exit(2)


def _read_pair() -> tuple[str, str]:
    """Key and secret from a prompt without echo (asked again when malformed), or from two lines (a PEM: the
    rest) on stdin; both checked to be what Binance issues (CredentialError says why not, never the value)."""
    from keyguard.exchange.credentials import ask_valid, check_api_key, check_hmac_secret, check_private_key_pem

    if sys.stdin.isatty():
        return ask_valid("API key (hidden): ", check_api_key), ask_valid("Secret (hidden): ", check_hmac_secret)
    lines = sys.stdin.read().splitlines()
    if len(lines) < 2:
        raise ValueError("give the API key on the first line of stdin and the secret (or PEM) after it")
    secret = "\n".join(lines[1:]).strip()
    if "PRIVATE KEY" in secret:
        return check_api_key(lines[0]), check_private_key_pem(secret, "stdin")
    return check_api_key(lines[0]), check_hmac_secret(secret)


@app.command("add")
def add(label: Annotated[str, typer.Argument(help="A name for the key, e.g. quant-trading.")]) -> None:
    """Store a key and its secret (or Ed25519/RSA private key) under LABEL.

    Example: keyguard vault add quant-trading
    """
    from keyguard.vault.store import VaultError, new_entry, open_backend

    try:
        api_key, secret = _read_pair()
        backend = open_backend()
        entries = backend.load()
        if label in entries:
            raise _fail(f"{label} is already in the vault; remove it first")
        entries[label] = new_entry(label, api_key, secret)
        backend.save(entries)
    except (ValueError, VaultError) as error:
        raise _fail(str(error)) from None
    credential = entries[label].credential
    Console().print(f"stored {label}: {credential.redacted_key} ({credential.key_type}) in the {backend.name}")


@app.command("list")
def list_entries() -> None:
    """Labels, fingerprints and dates — never secrets.

    Example: keyguard vault list
    """
    from keyguard.vault.store import VaultError, open_backend

    try:
        backend = open_backend()
        entries = backend.load()
    except VaultError as error:
        raise _fail(str(error)) from None
    table = Table(title=f"vault ({backend.name})", title_justify="left")
    for column in ("Label", "Key", "Type", "Fingerprint", "Created"):
        table.add_column(column)
    for entry in entries.values():
        c = entry.credential
        table.add_row(entry.label, c.redacted_key, c.key_type, c.fingerprint[:16] + "…", entry.created)
    Console().print(table)


@app.command("remove")
def remove(label: Annotated[str, typer.Argument(help="The key's label.")]) -> None:
    """Remove LABEL from the vault.

    Example: keyguard vault remove old-grid-bot
    """
    from keyguard.vault.store import VaultError, open_backend

    try:
        backend = open_backend()
        entries = backend.load()
        if entries.pop(label, None) is None:
            raise _fail(f"no {label} in the vault")
        backend.save(entries)
    except VaultError as error:
        raise _fail(str(error)) from None
    Console().print(f"removed {label}")


def run_command(
    command: Annotated[list[str], typer.Argument(help="The command to start, after --.")],
    key: Annotated[str, typer.Option("--key", help="The vault label of the key to give it.")],
    env_style: Annotated[
        str, typer.Option("--env-style", help="binance, freqtrade, ccxt, or KEY_VAR,SECRET_VAR.")
    ] = "binance",
) -> None:
    """Start COMMAND with the key in its environment (never in its argv); signals are passed on and its exit
    code is returned.

    Example: keyguard run --key quant-trading --env-style freqtrade -- freqtrade trade -c config.json
    """
    from keyguard.vault.run import env_names, run_with_key
    from keyguard.vault.store import VaultError, open_backend

    try:
        env_names(env_style)
        entry = open_backend().load().get(key)
    except (ValueError, VaultError) as error:
        raise _fail(str(error)) from None
    if entry is None:
        raise _fail(f"no {key} in the vault (keyguard vault add {key})")
    try:
        code = run_with_key(entry.credential, command, env_style)
    except FileNotFoundError:
        raise _fail(f"command not found: {command[0]}") from None
    raise typer.Exit(code)


def redact_command(
    source: Annotated[str, typer.Argument(help="A file, or - for stdin.")] = "-",
) -> None:
    """Print SOURCE with Binance keys, secrets, private keys and request signatures masked.

    Example: keyguard redact bot.log > bot-safe.log
    """
    from keyguard.vault.redact import redact_bytes

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as error:
        raise _fail(f"{source}: {error.strerror or error}") from None
    sys.stdout.buffer.write(redact_bytes(data))


def migrate_command(
    folder: Annotated[Path, typer.Argument(help="The folder whose plaintext keys move into the vault.")],
    do_it: Annotated[bool, typer.Option("--apply", help="Do it (without it: only show what would be done).")] = False,
    label_prefix: Annotated[str | None, typer.Option("--label-prefix", help="Vault labels: PREFIX-1, ...")] = None,
) -> None:
    """Find plaintext key+secret pairs in FOLDER, store them in the vault and rewrite the files without them.

    Example: keyguard migrate ~/bots/grid --apply
    """
    from keyguard.vault.migrate import apply, not_git_ignored, plan
    from keyguard.vault.store import VaultError, open_backend

    console = Console()
    if not folder.is_dir():
        raise _fail(f"{folder} is not a folder")
    moves = plan(folder, label_prefix)
    if not moves:
        console.print("no plaintext key+secret pairs found")
        raise typer.Exit(0)
    for move in moves:
        console.print(
            f"{move.path}:{move.line}  {move.key.redacted} + {move.partner.kind} "
            f"{move.partner.redacted} -> vault label [bold]{move.label}[/bold]; {move.how}"
        )
    if not do_it:
        console.print("\ndry run: nothing changed; run again with --apply")
        raise typer.Exit(0)
    try:
        apply(moves, open_backend())
    except VaultError as error:
        raise _fail(f"{error}; no file was changed") from None
    console.print("\nmoved. From now on start each tool with its key from the vault:")
    for move in moves:
        console.print(f"  keyguard run --key {move.label} --env-style {move.env_style} -- <your bot command>")
    for path in not_git_ignored(sorted({m.path for m in moves})):
        console.print(f"[yellow]{path} is not git-ignored: add it to .gitignore[/yellow]")


UI_STEPS = (
    "Open binance.com > Account > API Management and press Create API.",
    "Choose 'Self-generated' (Ed25519, Binance's recommendation) or 'System generated'; name it {label}.",
    "Permissions: {permissions} — nothing else (no withdrawals, no universal transfer).",
    "Choose 'Restrict access to trusted IPs only' and add: {ips}.",
    "Confirm with your 2FA, then paste the new API key and its secret (or private key) here.",
)


def rotate_command(
    label: Annotated[str, typer.Argument(help="The inventory and vault label of the key to rotate.")],
    base_url: Annotated[str | None, typer.Option("--base-url", help="Binance API base URL.")] = None,
    wait_dead: Annotated[float, typer.Option("--wait-dead", min=0, help="Seconds to wait for the old key.")] = 900,
) -> None:
    """Guided rotation: create the new key as its profile says, check it, switch `keyguard run` to it, then
    delete the old one and confirm it is dead.

    Example: keyguard rotate quant-trading
    """
    import os

    from keyguard.cli.keys import _profiles
    from keyguard.exchange.client import BinanceClient
    from keyguard.incident.actions import ActionLog
    from keyguard.incident.contain import poll_until_dead
    from keyguard.inventory.store import Inventory
    from keyguard.posture.profiles import PERMISSIONS
    from keyguard.posture.verify import verify
    from keyguard.vault.store import VaultError, new_entry, open_backend

    console = Console()
    url = base_url or os.environ.get("KEYGUARD_BINANCE_URL")
    store = Inventory()
    record = store.get(label)
    try:
        backend = open_backend()
        entries = backend.load()
    except VaultError as error:
        raise _fail(str(error)) from None
    if record is None or label not in entries:
        raise _fail(f"{label} must be in the inventory (keyguard keys add) and in the vault (keyguard vault add)")
    profile = _profiles()[record.profile]
    names = {field: short for short, field in PERMISSIONS.items()}
    for number, step in enumerate(UI_STEPS, start=1):
        console.print(
            f"  {number}. "
            + step.format(
                label=label,
                permissions=", ".join(sorted(names[p] for p in profile.allow)),
                ips=", ".join(record.expected_ips) or "the address your bot runs from",
            )
        )
    try:
        api_key, secret = _read_pair()
    except ValueError as error:
        raise _fail(str(error)) from None
    fresh = new_entry(label, api_key, secret)
    result = verify(BinanceClient(fresh.credential, url))
    problems = profile.violations(result) if result.status == "live" else [f"the new key is {result.status}"]
    if problems:
        for problem in problems:
            console.print(f"[red]  - {problem}[/red]")
        raise _fail("the new key does not match its profile; fix it in API Management and run rotate again")
    old = entries[label]
    entries[f"{label}.old"] = old
    entries[label] = fresh
    backend.save(entries)
    store.replace_key(label, fresh.credential.fingerprint, fresh.credential.redacted_key, fresh.credential.key_type)
    store.record_verification(label, result.to_dict())
    console.print(
        f"`keyguard run --key {label}` now uses {fresh.credential.redacted_key}. "
        f"Delete the old key {old.credential.redacted_key} in API Management now."
    )
    log = ActionLog()
    if poll_until_dead(BinanceClient(old.credential, url), log, wait_dead):
        entries.pop(f"{label}.old")
        backend.save(entries)
        console.print(f"the old key is dead; rotation of {label} complete")
        raise typer.Exit(0)
    console.print(
        f"[yellow]the old key still answers after {wait_dead:.0f} s; it stays in the vault as {label}.old "
        "until you delete it[/yellow]"
    )
    raise typer.Exit(1)
