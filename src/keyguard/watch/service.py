"""`keyguard watch --install-service`: the watch as a service the system restarts — a systemd user unit on Linux,
a launchd agent on macOS. The unit runs the same watch command with this Python; it holds no Binance secret (the
keys stay in the vault) and no vault passphrase: a file vault's passphrase goes into an environment file of mode
0600 that the unit reads, named in what the command prints."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# what a service needs to find the same vault and exchange as the person who installed it
CARRIED_ENVIRONMENT = (
    "KEYGUARD_VAULT",
    "KEYGUARD_VAULT_BACKEND",
    "KEYGUARD_VAULT_FILE",
    "KEYGUARD_KEEPASS_KEYFILE",
    "KEYGUARD_BINANCE_URL",
    "KEYGUARD_INVENTORY",
    "XDG_DATA_HOME",
)
SECRET_ENVIRONMENT = ("KEYGUARD_VAULT_PASSPHRASE", "KEYGUARD_KEEPASS_PASSWORD")
USAGE_ERROR_EXIT = 2  # a usage error or a key that cannot be watched: restarting cannot help
LAUNCHD_PREFIX = "io.keyguard.watch"


class ServiceError(Exception):
    """The service could not be written; nothing the person had was changed."""


@dataclass
class Installed:
    path: Path
    environment_file: Path | None  # where a passphrase would go (systemd)
    backup: Path | None  # the previous, different unit kept beside
    started: bool  # the service manager took it and started it
    commands: list[str] = field(default_factory=list)  # what the person runs to start it, when we could not
    manager_output: str = ""


def service_name(key_label: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in key_label)
    return f"keyguard-watch-{safe}"


def command_line(watch_args: list[str]) -> list[str]:
    """The service's command: this interpreter running keyguard, so the unit works without the venv on PATH."""
    return [sys.executable, "-m", "keyguard", "watch", *watch_args]


def carried_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in CARRIED_ENVIRONMENT if os.environ.get(name)}


def _systemd_quote(word: str) -> str:
    """One ExecStart word: double-quoted, with systemd's specifiers (%) and variables ($) kept literal."""
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def systemd_unit(key_label: str, argv: list[str], environment: dict[str, str], environment_file: Path) -> str:
    lines = [
        "[Unit]",
        f"Description=keyguard: watch the Binance key {key_label.replace('%', '%%')} for theft",
        "Wants=network-online.target",
        "After=network-online.target",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(_systemd_quote(word) for word in argv),
        *(f"Environment={_systemd_quote(f'{name}={value}')}" for name, value in sorted(environment.items())),
        f"EnvironmentFile=-{environment_file}",
        "Restart=always",
        "RestartSec=10",
        f"RestartPreventExitStatus={USAGE_ERROR_EXIT}",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


def launchd_plist(key_label: str, argv: list[str], environment: dict[str, str], logs: Path) -> bytes:
    name = service_name(key_label)
    agent = {
        "Label": f"{LAUNCHD_PREFIX}.{key_label}",
        "ProgramArguments": argv,
        "EnvironmentVariables": environment,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False, "Crashed": True},
        "ThrottleInterval": 10,
        "StandardOutPath": str(logs / f"{name}.log"),
        "StandardErrorPath": str(logs / f"{name}.log"),
    }
    return plistlib.dumps(agent)


def _write_keeping(path: Path, content: bytes) -> Path | None:
    """Writes `content` at `path` atomically (mode 0600: the unit names notification URLs, which hold tokens);
    a different file already there is kept beside as a dated backup, which is returned."""
    backup = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            if path.read_bytes() == content:
                return None
            backup = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
            shutil.copy2(path, backup)
        temporary = path.with_name(f".{path.name}.keyguard-tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except OSError as error:
        raise ServiceError(f"cannot write {path}: {error.strerror or error}") from None
    return backup


def _run(command: list[str]) -> tuple[bool, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def install_systemd(key_label: str, watch_args: list[str], config_home: Path) -> Installed:
    name = service_name(key_label)
    environment_file = config_home / "keyguard" / f"{name}.env"
    unit = systemd_unit(key_label, command_line(watch_args), carried_environment(), environment_file)
    path = config_home / "systemd" / "user" / f"{name}.service"
    backup = _write_keeping(path, unit.encode())
    commands = ["systemctl --user daemon-reload", f"systemctl --user enable --now {name}.service"]
    if shutil.which("systemctl") is None:
        return Installed(path, environment_file, backup, False, commands, "systemctl not found on this machine")
    output = []
    for command in commands:
        ok, said = _run(command.split())
        output.append(said)
        if not ok:
            return Installed(path, environment_file, backup, False, commands, said)
    return Installed(path, environment_file, backup, True, [], "\n".join(o for o in output if o))


def install_launchd(key_label: str, watch_args: list[str], home: Path) -> Installed:
    logs = home / "Library" / "Logs"
    plist = launchd_plist(key_label, command_line(watch_args), carried_environment(), logs)
    path = home / "Library" / "LaunchAgents" / f"{LAUNCHD_PREFIX}.{key_label}.plist"
    backup = _write_keeping(path, plist)
    domain = f"gui/{os.getuid()}"
    commands = [f"launchctl bootout {domain} {path}", f"launchctl bootstrap {domain} {path}"]
    if shutil.which("launchctl") is None:
        return Installed(path, None, backup, False, commands[1:], "launchctl not found on this machine")
    _run(commands[0].split())  # an earlier version of the agent, if loaded
    ok, said = _run(commands[1].split())
    return Installed(path, None, backup, ok, [] if ok else commands[1:], said)


def install(key_label: str, watch_args: list[str], manager: str) -> Installed:
    if manager == "launchd":
        return install_launchd(key_label, watch_args, Path.home())
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return install_systemd(key_label, watch_args, config_home)
