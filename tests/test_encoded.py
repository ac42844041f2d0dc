"""Encoded and embedded text: base64 values, JSON string escapes (notebooks), minified one-line files."""

from __future__ import annotations

import base64
import json

from conftest import decode, make_canaries, places, run_keyguard


def _report(tmp_path) -> dict:
    done = run_keyguard("scan", "-f", "json", cwd=tmp_path)
    assert done.returncode in (0, 1), decode(done)[1]
    return json.loads(decode(done)[0])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_kubernetes_secret_and_base64_ci_variable(tmp_path, canaries):
    (tmp_path / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bot\ndata:\n"
        f"  BINANCE_API_KEY: {_b64(canaries.key)}\n  BINANCE_API_SECRET: {_b64(canaries.secret + chr(10))}\n"
    )
    (tmp_path / "ci.env").write_text(f"BOT_ENV_FILE={_b64(f'BINANCE_API_KEY={canaries.key}')}\n")
    findings = places(_report(tmp_path))
    assert [(f["path"], f["line"], f["kind"], f["encoding"]) for f in findings] == [
        ("ci.env", 1, "api_key", "base64"),
        ("secret.yaml", 6, "api_key", "base64"),
        ("secret.yaml", 7, "secret", "base64"),
    ]
    assert findings[1]["paired_with"] == findings[2]["secret_sha256"]
    everything = (tmp_path / "secret.yaml").read_text()
    assert canaries.secret not in everything  # the canary really was only there encoded


def test_base64_of_binary_or_unrelated_text_is_ignored(tmp_path):
    (tmp_path / "img.txt").write_text(f"logo = {base64.b64encode(bytes(range(256))).decode()}\n")
    (tmp_path / "lorem.txt").write_text(f"x = {_b64('lorem ipsum dolor sit amet ' * 5)}\n")
    assert _report(tmp_path)["findings"] == []


def test_jupyter_notebook_with_json_escapes(tmp_path, canaries):
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "source": [
                    "from binance.client import Client\n",
                    f'client = Client("{canaries.key}", "{canaries.secret}")\n',
                ],
            },
            {"cell_type": "code", "source": [f'exchange = ccxt.binance({{"apiKey": "{canaries.key}"}})\n']},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "explore.ipynb").write_text(json.dumps(notebook, indent=1))
    findings = places(_report(tmp_path))
    assert [(f["line"], f["kind"], f["rule_id"]) for f in findings] == [
        (7, "api_key", "binance.client.positional"),
        (7, "secret", "binance.client.positional"),
        (13, "api_key", "binance.api_key.assigned"),
    ]


def test_minified_single_line_file(tmp_path):
    keys = [make_canaries(seed) for seed in range(30, 40)]
    parts = [f'var a{i}="{"x" * 5000}";var c{i}={{apiKey:"{k.key}",secret:"{k.secret}"}};' for i, k in enumerate(keys)]
    (tmp_path / "bundle.min.js").write_text("".join(parts) * 3)
    findings = places(_report(tmp_path))
    assert len(findings) == 60 and {f["line"] for f in findings} == {1}
    assert all(f["paired_with"] for f in findings)
