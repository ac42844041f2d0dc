"""`keyguard vault add/list/remove`: keys kept in the OS keychain, an encrypted file or a KeePass database, never
in plaintext."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from keyguard.cli.common import fail, read_pair

app = typer.Typer(
    help="The vault: keys kept in the OS keychain, an encrypted file or a KeePass database (--vault keepass:PATH), "
    "never in plaintext.",
    no_args_is_help=True,
)


@app.command("add")
def add(label: Annotated[str, typer.Argument(help="A name for the key, e.g. quant-trading.")]) -> None:
    """Store a key and its secret (or Ed25519/RSA private key) under LABEL.

    Example: keyguard vault add quant-trading
    """
    from keyguard.vault.store import VaultError, check_label, new_entry, open_backend

    try:
        check_label(label)
        backend = open_backend()
        backend.unlock(create=True)  # the passphrase first, once: a wrong one fails before the key is typed
        if label in backend.load():
            raise VaultError(f"{label} is already in the vault; remove it first")
        api_key, secret = read_pair()
        entry = new_entry(label, api_key, secret)
        with backend.edit() as entries:
            if label in entries:
                raise VaultError(f"{label} is already in the vault; remove it first")
            entries[label] = entry
    except (ValueError, VaultError) as error:
        raise fail(str(error)) from None
    credential = entry.credential
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
        raise fail(str(error)) from None
    table = Table(title=f"vault ({backend.name})", title_justify="left")
    for column in ("Label", "Key", "Type", "Fingerprint", "Created"):
        table.add_column(column)
    for entry in entries.values():
        c = entry.credential
        table.add_row(entry.label, c.redacted_key, c.key_type, c.fingerprint[:16] + "…", entry.created)
    console = Console()
    console.print(table)
    for title, reason in backend.skipped.items():
        console.print(f"[yellow]not read: {escape(title)}: {escape(reason)}[/yellow]")


@app.command("remove")
def remove(label: Annotated[str, typer.Argument(help="The key's label.")]) -> None:
    """Remove LABEL from the vault.

    Example: keyguard vault remove old-grid-bot
    """
    from keyguard.vault.store import VaultError, open_backend

    try:
        backend = open_backend()
        with backend.edit() as entries:
            if entries.pop(label, None) is None:
                raise VaultError(f"no {label} in the vault")
    except VaultError as error:
        raise fail(str(error)) from None
    Console().print(f"removed {label}")
