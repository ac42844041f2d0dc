"""Evidence that proves what it claims: the manifest's hash, tickets outside the seal that carry it,
`keyguard evidence verify --expect`, incomplete cases, malformed manifests; charts whose labels never meet;
valuation in USDT; the report of a case where nothing could be audited."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest

from keyguard.evidence.charts import DAY, HOUR, MINUTE, Chart, Series, overlaps, time_ticks
from keyguard.evidence.manifest import HASH_PLACEHOLDER, MANIFEST, AlreadySealed, seal, verify_case
from keyguard.evidence.reports import CaseFacts, CaseStatus, write_reports
from keyguard.incident.actions import ActionLog
from keyguard.incident.audit import AuditData
from keyguard.incident.case import write_findings
from keyguard.incident.detect import Detection, Flag
from keyguard.incident.valuation import assess, usdt_value

START = 1_796_000_000_000 - 1_796_000_000_000 % HOUR
END = START + 7 * DAY


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "NO_COLOR": "1"},
    )


def _nothing_audited(case: Path) -> CaseFacts:
    timeline = [
        {"time_utc": "2026-12-01T20:00:00.000+00:00", "event": "keyguard: check key", "detail": "rejected (-2015)"},
        {"time_utc": "2026-12-01T20:00:05.000+00:00", "event": "keyguard: detect", "detail": "0 flags, estimated "
         "loss 0.00 USDT"},
    ]  # fmt: skip
    status = CaseStatus("rejected", "2026-12-01T20:00:00+00:00", {}, "none", ["balances", "trades", "withdrawals"])
    facts = CaseFacts("abcd…wxyz", "f" * 64, None, AuditData(START, END), Detection(), timeline, [], status)
    case.mkdir(exist_ok=True)
    (case / "raw").mkdir(exist_ok=True)
    (case / "raw" / "00001-private_get_account.json").write_text('{"answer": null}\n')
    write_reports(case, facts)
    return facts


def test_seal_returns_the_manifests_sha256_and_the_tickets_outside_the_seal_carry_it(tmp_path):
    _nothing_audited(tmp_path)
    digest = seal(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert digest == hashlib.sha256((tmp_path / MANIFEST).read_bytes()).hexdigest()
    assert set(manifest["files"]) == {"report.html", "raw/00001-private_get_account.json"}
    assert set(manifest["outside_seal"]) == {"support-ticket.md", "police-report.md"}
    for ticket in ("support-ticket.md", "police-report.md"):
        text = (tmp_path / ticket).read_text()
        assert digest in text and HASH_PLACEHOLDER not in text
        assert "anchors the case in time" in text
    check = verify_case(tmp_path)
    assert check.intact and check.outside == {"support-ticket.md": True, "police-report.md": True}


def test_a_case_is_sealed_once(tmp_path):
    _nothing_audited(tmp_path)
    seal(tmp_path)
    before = (tmp_path / MANIFEST).read_bytes()
    with pytest.raises(AlreadySealed, match="already sealed"):
        seal(tmp_path)
    assert (tmp_path / MANIFEST).read_bytes() == before


def test_verify_with_the_expected_hash_right_and_wrong(tmp_path):
    _nothing_audited(tmp_path)
    digest = seal(tmp_path)
    done = _cli("evidence", "verify", str(tmp_path), "--expect", digest.upper())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "matches the SHA-256 you expected" in done.stdout and "intact" in done.stdout
    assert "support-ticket.md — carries the manifest's SHA-256" in done.stdout
    assert "does not prove who sealed the case" in done.stdout and "anchors the case in time" in done.stdout
    wrong = "0" * 64
    done = _cli("evidence", "verify", str(tmp_path), "--expect", wrong)
    assert done.returncode == 1
    assert f"expected {wrong}, manifest.json is {digest}" in done.stdout and "not as sealed" in done.stdout


def test_a_changed_file_or_a_ticket_without_the_hash_is_reported(tmp_path):
    _nothing_audited(tmp_path)
    digest = seal(tmp_path)
    (tmp_path / "support-ticket.md").write_text("rewritten\n")
    done = _cli("evidence", "verify", str(tmp_path), "--expect", digest)
    assert done.returncode == 0  # the tickets are outside the seal by design; the output says what they lack
    assert "support-ticket.md — does not carry the manifest's SHA-256" in done.stdout
    (tmp_path / "report.html").write_text("<p>nothing happened</p>")
    done = _cli("evidence", "verify", str(tmp_path), "--expect", digest)
    assert done.returncode == 1 and "changed: report.html" in done.stdout


def test_an_incomplete_case_says_so_and_cannot_be_flipped_to_complete(tmp_path):
    _nothing_audited(tmp_path)
    seal(tmp_path, complete=False, missing=["withdrawal history", "futures balances"])
    done = _cli("evidence", "verify", str(tmp_path))
    assert done.returncode == 0
    assert re.search(r"sealed \S+ as INCOMPLETE: missing withdrawal history; futures balances", done.stdout)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["complete"], manifest["missing"] = True, []
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    done = _cli("evidence", "verify", str(tmp_path))
    assert done.returncode == 1 and "signature: INVALID" in done.stdout


def _sealed_manifest(tmp_path: Path) -> dict:
    _nothing_audited(tmp_path)
    seal(tmp_path)
    return json.loads((tmp_path / MANIFEST).read_text())


MALFORMED = {
    "not JSON": lambda m: b"{not json",
    "not UTF-8": lambda m: b"\xff\xfe{}",
    "a list": lambda m: json.dumps([m]).encode(),
    "a number": lambda m: b"42",
    "missing files": lambda m: json.dumps({k: v for k, v in m.items() if k != "files"}).encode(),
    "missing signature": lambda m: json.dumps({k: v for k, v in m.items() if k != "signature"}).encode(),
    "files is a list": lambda m: json.dumps({**m, "files": list(m["files"])}).encode(),
    "a digest is a number": lambda m: json.dumps({**m, "files": {"report.html": 5}}).encode(),
    "public key not base64": lambda m: json.dumps({**m, "public_key": "***not base64***"}).encode(),
    "public key too short": lambda m: json.dumps({**m, "public_key": base64.b64encode(b"x" * 5).decode()}).encode(),
    "signature is a number": lambda m: json.dumps({**m, "signature": 12}).encode(),
    "complete is text": lambda m: json.dumps({**m, "complete": "yes"}).encode(),
    "missing holds numbers": lambda m: json.dumps({**m, "missing": [1, 2]}).encode(),
    "created is null": lambda m: json.dumps({**m, "created": None}).encode(),
}


@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_a_malformed_manifest_gives_one_clear_line_and_exit_2(tmp_path, shape):
    manifest = _sealed_manifest(tmp_path)
    (tmp_path / MANIFEST).write_bytes(MALFORMED[shape](manifest))
    done = _cli("evidence", "verify", str(tmp_path), "--expect", "0" * 64)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("keyguard: ") and "manifest.json" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_no_manifest_at_all_is_exit_2(tmp_path):
    done = _cli("evidence", "verify", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "cannot read" in done.stderr and "Traceback" not in done.stderr


def test_nothing_audited_shows_a_red_banner_and_never_a_zero_loss(tmp_path):
    facts = _nothing_audited(tmp_path)
    write_findings(tmp_path, facts.data, facts.detection, ActionLog(), audit_state="none")
    report = (tmp_path / "report.html").read_text()
    banner = report.index('<div class="banner">NOTHING COULD BE AUDITED — this is not a zero loss</div>')
    assert banner < report.index("<h2>")  # at the top, before any section
    assert "Loss: unknown — nothing could be audited" in report
    for text in (report, (tmp_path / "support-ticket.md").read_text(), (tmp_path / "police-report.md").read_text()):
        assert "NOTHING COULD BE AUDITED" in text
        assert not re.search(r"(?<![\d.])0(\.0+)? USDT", text), re.search(r".{60}(?<![\d.])0(\.0+)? USDT", text)
    flags = json.loads((tmp_path / "flags.json").read_text())
    assert flags["total_loss_usdt"] is None and flags["audit_state"] == "none"


# --- charts --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "span", [3 * MINUTE, 40 * MINUTE, 4 * HOUR, 30 * HOUR, 3 * DAY, 30 * DAY, 400 * DAY], ids=lambda s: f"{s}ms"
)
@pytest.mark.parametrize("width", [300, 660])
def test_time_axis_labels_never_touch_and_stay_inside(span, width):
    start = START + 17 * MINUTE
    ticks = time_ticks(start, start + span, width, (-40, width + 10))
    assert ticks
    labels = [label for _, label in ticks]
    for a, b in zip(labels, labels[1:], strict=False):
        assert b.box()[0] - a.box()[2] >= 10, (a.text, b.text)
    assert all(label.box()[0] >= -40 and label.box()[2] <= width + 10 for label in labels)
    assert re.match(r"\d{1,2} [A-Z][a-z]{2}", labels[0].text)  # the first label always names its date
    if span >= 14 * DAY:
        assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}( \d{4})?", label.text) for label in labels)


def test_a_chart_has_units_the_attack_window_and_no_overlapping_label():
    hours = range(0, 7 * 24)
    chart = Chart(
        [
            Series("a series with a rather long name to force the legend onto two rows", [
                (START + h * HOUR, 1000 + h) for h in hours]),
            Series("flagged trades", [(START + 100 * HOUR, 7000.0)], style="dots"),
            Series("balance (now 0.0012 BTC)", [(END, 0.0012)], mark_last=True),
        ],
        unit="price, USDT per KGT",
        window=(START + 100 * HOUR, START + 100 * HOUR + 4 * MINUTE),
    )  # fmt: skip
    svg = chart.svg()
    assert "price, USDT per KGT" in svg and "time (UTC)" in svg and "attack window" in svg
    assert svg.count("<rect") >= 2  # the shaded window and its legend swatch
    for a, b in combinations(chart.labels, 2):
        assert not overlaps(a, b), (a.text, b.text)
    assert all(label.box()[0] >= 0 and label.box()[2] <= chart.width for label in chart.labels)


# --- valuation -----------------------------------------------------------------------------------------------


def _kline(open_ms: int, close: float) -> list:
    return [open_ms, str(close), str(close), str(close), str(close), "1", open_ms + HOUR - 1]


def test_usdt_value_uses_the_nearest_hourly_close_and_says_none_when_it_cannot():
    data = AuditData(START, END, klines={"BTCUSDT": [_kline(START + h * HOUR, 60_000 + h) for h in range(0, 48, 2)]})
    assert usdt_value(data, "FDUSD", 12.5, START) == 12.5
    assert usdt_value(data, "BTC", 2, START + 10 * HOUR + 5 * MINUTE) == 2 * 60_010
    # closes at 11:00 (the 10:00 hour) and 13:00 (the 12:00 hour): the nearest one in time
    assert usdt_value(data, "BTC", 1, START + 11 * HOUR + 50 * MINUTE) == 60_010
    assert usdt_value(data, "BTC", 1, START + 12 * HOUR + 10 * MINUTE) == 60_012
    assert usdt_value(data, "BTC", 1, START + 200 * HOUR) is None  # days after the last close
    assert usdt_value(data, "KGT", 1, START) is None


def test_an_amount_that_cannot_be_priced_is_listed_not_counted_as_zero(tmp_path):
    data = AuditData(START, END, klines={"BTCUSDT": [_kline(START + h * HOUR, 50_000) for h in range(48)]})
    data.withdrawals = [
        {"id": "w1", "coin": "BTC", "amount": "0.5", "address": "0xnew", "network": "ETH", "applyTime": "x"},
        {"id": "w2", "coin": "KGT", "amount": "1000", "address": "0xnew", "network": "ETH", "applyTime": "x"},
    ]
    detection = Detection(
        [
            Flag("withdrawal", {"id": "w1"}, ["new address"], START + HOUR),
            Flag("withdrawal", {"id": "w2"}, ["new"], START),
        ]
    )
    losses = assess(data, detection)
    assert losses.total_usdt == 25_000 and [i.asset for i in losses.unpriced] == ["KGT"]
    write_findings(tmp_path, data, detection, ActionLog(), audit_state="complete")
    flags = json.loads((tmp_path / "flags.json").read_text())
    assert flags["total_loss_usdt"] == 25_000 and flags["total_loss_is_lower_bound"] is True
    assert flags["loss_breakdown"]["unpriced"] == ["withdrew 1000 KGT to 0xnew (ETH) (no KGTUSDT price in the audit)"]
    assert [f["value_usdt"] for f in flags["flags"]] == [25_000.0, None]


def test_flags_json_of_an_audit_that_read_nothing_has_no_total_even_unasked(tmp_path):
    data = AuditData(START, END)
    data.missing = ["spot balances", "trades", "withdrawal history"]
    write_findings(tmp_path, data, Detection(), ActionLog())
    flags = json.loads((tmp_path / "flags.json").read_text())
    assert flags["audit_state"] == "none" and flags["total_loss_usdt"] is None


def test_an_incomplete_audit_with_no_flags_is_never_told_as_no_theft(tmp_path):
    from keyguard.evidence.story import what_happened

    data = AuditData(START, END, balances={"USDT": 10.0}, missing=["trades on KGTUSDT", "withdrawal history"])
    status = CaseStatus("rejected", "2026-12-01T20:00:00+00:00", {}, "partial", list(data.missing))
    facts = CaseFacts("abcd…wxyz", "f" * 64, None, data, Detection(), [], [], status)
    story = what_happened(facts)
    assert "INCOMPLETE" in story and "not a finding that nothing was lost" in story
    assert "found nothing that looks like theft" not in story
    write_reports(tmp_path, facts)
    report = (tmp_path / "report.html").read_text()
    assert "found nothing that looks like theft" not in report and "audit is incomplete" in report
