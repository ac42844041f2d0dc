"""`keyguard scan` end to end: real files and repositories in temp dirs, the real CLI in a child process."""

from __future__ import annotations

import json
import os

import pytest

from conftest import decode, git, places, run_keyguard


def _env_file(canaries) -> str:
    return f"BINANCE_API_KEY={canaries.key}\nBINANCE_API_SECRET={canaries.secret}\n"


def _json(done) -> dict:
    out, err = decode(done)
    assert done.returncode in (0, 1), err
    return json.loads(out)


def test_scan_current_directory_by_default(tmp_path, canaries):
    (tmp_path / ".env").write_text(_env_file(canaries))
    (tmp_path / "README.md").write_text("nothing to see\n")
    done = run_keyguard("scan", cwd=tmp_path)
    out, _ = decode(done)
    assert done.returncode == 1
    assert ".env:1,2" in out and "credential pair" in out
    assert "2 findings (2 critical)" in out


def test_clean_tree_exits_zero(tmp_path):
    (tmp_path / "main.py").write_text("api_key = os.environ['BINANCE_API_KEY']\n")
    done = run_keyguard("scan", cwd=tmp_path)
    assert done.returncode == 0
    assert "0 findings" in decode(done)[0]


def test_a_path_that_does_not_exist_is_an_error_and_the_rest_is_still_scanned(tmp_path, canaries):
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / ".env").write_text(_env_file(canaries))
    done = run_keyguard("scan", "typo-of-a-dir", "bot", "--no-history", cwd=tmp_path)
    out, err = decode(done)
    assert done.returncode == 2  # not 0: a CI job scanning a misspelt path must fail
    assert "typo-of-a-dir: no such file or directory" in err
    assert "bot/.env:1,2" in out and "2 findings" in out


def test_json_report_fields_and_pairing(tmp_path, canaries):
    (tmp_path / "bots").mkdir()
    (tmp_path / "bots" / "bot.py").write_text(f'client = Client("{canaries.key}", "{canaries.secret}")\n')
    done = run_keyguard("scan", "bots", "--format", "json", "--output", "findings.json", cwd=tmp_path)
    assert done.returncode == 1
    report = json.loads((tmp_path / "findings.json").read_text())
    assert set(report) == {"findings", "skipped", "stats"}
    key, secret = report["findings"]
    required = {
        "rule_id",
        "kind",
        "path",
        "line",
        "column",
        "secret_sha256",
        "redacted",
        "severity",
        "paired_with",
        "local_only",
    }
    assert required <= set(key)
    assert (key["kind"], secret["kind"]) == ("api_key", "secret")
    assert key["path"] == os.path.join("bots", "bot.py") and key["line"] == 1 and key["column"] == 18
    assert key["paired_with"] == secret["secret_sha256"] and secret["paired_with"] == key["secret_sha256"]
    assert key["redacted"] == f"{canaries.key[:4]}…{canaries.key[-4:]}"
    assert report["stats"]["files_scanned"] == 1 and report["stats"]["engine"] == "hyperscan"


def test_freqtrade_config_is_found(tmp_path, canaries):
    config = {
        "max_open_trades": 3,
        "exchange": {"name": "binance", "key": canaries.key, "secret": canaries.secret, "ccxt_config": {}},
    }
    (tmp_path / "config.json").write_text(json.dumps(config, indent=4))
    report = _json(run_keyguard("scan", "-f", "json", cwd=tmp_path))
    kinds = {f["kind"]: f for f in report["findings"]}
    assert set(kinds) == {"api_key", "secret"}
    assert kinds["api_key"]["rule_id"] == "binance.api_key.config-key"
    assert kinds["api_key"]["severity"] == "critical"


def test_stdin(tmp_path, canaries):
    log = f"2026-11-25 DEBUG GET /api/v3/account headers={{'X-MBX-APIKEY': '{canaries.key}'}}\n"
    done = run_keyguard("scan", "-", "-f", "json", cwd=tmp_path, stdin=log.encode())
    report = _json(done)
    assert done.returncode == 1
    [finding] = report["findings"]
    assert (finding["path"], finding["source"], finding["rule_id"]) == (
        "-",
        "stdin",
        "binance.header.x-mbx-apikey",
    )


def test_local_only_marks_untracked_and_ignored_files(tmp_path, canaries):
    git("init", "-q", cwd=tmp_path)
    (tmp_path / ".gitignore").write_text(".env\n")
    (tmp_path / ".env").write_text(f"BINANCE_API_SECRET={canaries.secret}\n")
    (tmp_path / "tracked.py").write_text(f'API_KEY = "{canaries.key}"\n')
    (tmp_path / "untracked.yaml").write_text(f"secret: {canaries.secret}\n")
    git("add", ".gitignore", "tracked.py", cwd=tmp_path)
    git("commit", "-qm", "init", cwd=tmp_path)
    report = _json(run_keyguard("scan", "-f", "json", cwd=tmp_path))
    local = {f["path"]: f["local_only"] for f in places(report)}
    assert local == {".env": True, "tracked.py": False, "untracked.yaml": True}


def test_git_internals_and_dependencies_are_skipped_unless_asked(tmp_path, canaries):
    git("init", "-q", cwd=tmp_path)
    secret_line = f"secret = '{canaries.secret}'\n"
    (tmp_path / ".git" / "leak.txt").write_text(secret_line)
    for dep in ("node_modules/pkg", ".venv/lib", "lib/python3.11/site-packages/x", "env"):
        (tmp_path / dep).mkdir(parents=True)
        (tmp_path / dep / "conf.py").write_text(secret_line)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    paths = lambda report: sorted(f["path"] for f in places(report))  # noqa: E731
    assert paths(_json(run_keyguard("scan", "-f", "json", cwd=tmp_path))) == []
    with_deps = paths(_json(run_keyguard("scan", "--include-deps", "-f", "json", cwd=tmp_path)))
    assert len(with_deps) == 4 and not any(p.startswith(".git") for p in with_deps)
    named = paths(_json(run_keyguard("scan", "node_modules", "-f", "json", cwd=tmp_path)))
    assert named == [os.path.join("node_modules", "pkg", "conf.py")]


def test_exclude_globs_from_cli_and_config(tmp_path, canaries):
    line = f"secret = '{canaries.secret}'\n"
    for name in ("a/keep.py", "fixtures/x.py", "b/skip.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(line)
    (tmp_path / "pyproject.toml").write_text('[tool.keyguard]\nexclude = ["fixtures/**"]\n')
    report = _json(run_keyguard("scan", "--exclude", "*.txt", "-f", "json", cwd=tmp_path))
    assert [f["path"] for f in places(report)] == [os.path.join("a", "keep.py")]
    (tmp_path / ".keyguard.toml").write_text('exclude = ["a/**"]\nformat = "json"\n')
    report = _json(run_keyguard("scan", cwd=tmp_path))  # .keyguard.toml wins over pyproject.toml
    assert sorted(f["path"] for f in places(report)) == [
        os.path.join("b", "skip.txt"),
        os.path.join("fixtures", "x.py"),
    ]


def test_bad_config_is_a_clear_error(tmp_path):
    (tmp_path / ".keyguard.toml").write_text("exclude = 'not a list'\n")
    done = run_keyguard("scan", cwd=tmp_path)
    assert done.returncode == 2
    assert "exclude must be a list" in decode(done)[1]
    for text, said in (('format = "xml"\n', "format must be one of text, json, sarif"), ("exclude = [\n", "toml")):
        (tmp_path / ".keyguard.toml").write_text(text)
        done = run_keyguard("scan", cwd=tmp_path)
        err = decode(done)[1]
        assert done.returncode == 2 and said in err and len(err.strip().splitlines()) == 1, err


def test_staged_scans_the_index_not_the_work_tree(tmp_path, canaries):
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "clean.py").write_text("print('hi')\n")
    git("add", "clean.py", cwd=tmp_path)
    assert run_keyguard("scan", "--staged", cwd=tmp_path).returncode == 0
    (tmp_path / "bot.py").write_text(f'secret = "{canaries.secret}"\n')
    git("add", "bot.py", cwd=tmp_path)
    (tmp_path / "bot.py").write_text("secret = os.environ['S']\n")  # the work tree no longer has it
    (tmp_path / "unstaged.py").write_text(f'secret = "{canaries.secret}"\n')
    report = _json(run_keyguard("scan", "--staged", "-f", "json", cwd=tmp_path))
    assert [(f["path"], f["source"], f["local_only"]) for f in report["findings"]] == [("bot.py", "staged", False)]


def test_staged_outside_a_repository_is_an_error(tmp_path):
    done = run_keyguard("scan", "--staged", cwd=tmp_path)
    assert done.returncode == 2
    assert "git work tree" in decode(done)[1]


def test_baseline_survives_line_moves(tmp_path, canaries):
    (tmp_path / "bot.py").write_text(f'secret = "{canaries.secret}"\n')
    done = run_keyguard("scan", "--write-baseline", "baseline.json", cwd=tmp_path)
    assert done.returncode == 0
    baseline_text = (tmp_path / "baseline.json").read_text()
    assert canaries.secret not in baseline_text
    (tmp_path / "bot.py").write_text(f'# moved\n\n\nsecret = "{canaries.secret}"\n')
    done = run_keyguard("scan", "--baseline", "baseline.json", cwd=tmp_path)
    assert done.returncode == 0, decode(done)
    assert "1 accepted by the baseline" in decode(done)[0]
    (tmp_path / "other.py").write_text(f'secret = "{canaries.secret}"\n')  # same secret, new place
    assert run_keyguard("scan", "--baseline", "baseline.json", cwd=tmp_path).returncode == 1


def test_broken_baseline_is_a_clear_error(tmp_path):
    (tmp_path / "baseline.json").write_text("{not json")
    done = run_keyguard("scan", "--baseline", "baseline.json", cwd=tmp_path)
    assert done.returncode == 2 and "not a keyguard baseline" in decode(done)[1]


def test_inline_allow_comment(tmp_path, canaries):
    (tmp_path / "test_bot.py").write_text(f'secret = "{canaries.secret}"  # keyguard:allow test fixture\n')
    assert run_keyguard("scan", cwd=tmp_path).returncode == 0


def test_unknown_format_is_a_usage_error(tmp_path):
    assert run_keyguard("scan", "--format", "xml", cwd=tmp_path).returncode == 2


def test_bad_input_is_skipped_and_the_scan_goes_on(tmp_path, canaries):
    (tmp_path / "bin.dat").write_bytes(b"\x7fELF\x00\x00\x00" + canaries.secret.encode())
    (tmp_path / "backup.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (tmp_path / "latin1.cfg").write_bytes(b"caf\xe9 \xff\xfe\nsecret=" + canaries.secret.encode() + b"\n")
    os.symlink("loop_b", tmp_path / "loop_a")
    os.symlink("loop_a", tmp_path / "loop_b")
    os.symlink(tmp_path, tmp_path / "self_dir")  # a directory loop: not followed
    os.mkfifo(tmp_path / "pipe")
    done = run_keyguard("scan", ".", "missing.txt", "-f", "json", cwd=tmp_path)
    assert done.returncode == 2  # a path given that does not exist; the report still comes
    report = json.loads(decode(done)[0])
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons["bin.dat"] == "binary"
    assert reasons["backup.zip"].startswith("corrupt archive")
    assert reasons["loop_a"] == reasons["loop_b"] == "symlink loop"
    assert reasons["pipe"] == "not a regular file"
    assert reasons["missing.txt"].startswith("not found")
    assert [f["path"] for f in report["findings"]] == ["latin1.cfg"]
    assert report["findings"][0]["line"] == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_is_skipped(tmp_path, canaries):
    locked = tmp_path / "locked.env"
    locked.write_text(f"secret={canaries.secret}\n")
    locked.chmod(0)
    report = _json(run_keyguard("scan", "-f", "json", cwd=tmp_path))
    assert report["skipped"] == [{"path": "locked.env", "reason": "unreadable: Permission denied"}]


def test_huge_file_is_streamed(tmp_path, canaries):
    big = tmp_path / "huge.log"
    line = b"2026-11-25 12:00:00 INFO heartbeat ok " + b"." * 60 + b"\n"
    with big.open("wb") as out:
        for _ in range(8 * 1024 * 1024 // len(line)):  # about 8 MiB, then the key past the first chunk
            out.write(line)
        out.write(f"apiKey={canaries.key}\n".encode())
        for _ in range(200000):
            out.write(line)
    report = _json(run_keyguard("scan", "huge.log", "-f", "json", cwd=tmp_path))
    [finding] = report["findings"]
    assert finding["line"] == 8 * 1024 * 1024 // len(line) + 1


def test_many_files_are_scanned_in_parallel(tmp_path, canaries):
    for i in range(600):
        (tmp_path / f"f{i:03}.py").write_text(
            "x = 1\n" * 50 + (f"secret = '{canaries.secret}'\n" if i % 100 == 7 else "")
        )
    report = _json(run_keyguard("scan", "-f", "json", "--jobs", "2", cwd=tmp_path))
    assert report["stats"]["jobs"] == 2
    assert [f["path"] for f in places(report)] == [f"f{i:03}.py" for i in range(7, 600, 100)]
    serial = _json(run_keyguard("scan", "-f", "json", "--jobs", "1", cwd=tmp_path))
    assert serial["findings"] == report["findings"]


def test_re_engine_gives_the_same_report(tmp_path, canaries):
    (tmp_path / ".env").write_text(_env_file(canaries))
    (tmp_path / "bot.py").write_text(f'Spot("{canaries.key}", "{canaries.secret}")\n')
    fast = _json(run_keyguard("scan", "-f", "json", cwd=tmp_path))
    slow = _json(run_keyguard("scan", "-f", "json", "--engine", "re", cwd=tmp_path))
    assert slow["stats"]["engine"] == "re"
    assert fast["findings"] == slow["findings"] and len(places(fast)) == 4 and len(fast["findings"]) == 2


def test_help_on_every_command(tmp_path):
    for args in (["--help"], ["scan", "--help"], ["hook", "--help"], ["hook", "install", "--help"]):
        done = run_keyguard(*args, cwd=tmp_path)
        assert done.returncode == 0 and "Usage" in decode(done)[0], args
