"""What the reports say about the sandbox's real attacks: the loss in USDT against the scenario's ground truth,
the status first, the story in plain words, flagged trades with their market price, and no secret anywhere."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keyguard.evidence.manifest import seal, verify_case
from keyguard.evidence.reports import CaseFacts, CaseStatus, write_reports
from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.incident.actions import ActionLog
from keyguard.incident.audit import DAY_MS, Auditor, Checkpoint
from keyguard.incident.case import write_findings, write_raw, write_tables
from keyguard.incident.detect import detect
from keyguard.sandbox.scenario import ScenarioBuilder, load_spec
from keyguard.sandbox.server import SandboxServer
from keyguard.sandbox.truth import true_loss_usdt


@dataclass
class Case:
    path: Path
    builder: ScenarioBuilder
    truth: dict
    credentials: list[dict]
    facts: CaseFacts
    manifest_sha256: str


def _audited_case(name: str, tmp_path: Path) -> Case:
    """The scenario's attack, audited with the victim's read-only key, written and sealed as keyguard does."""
    # the scenario's "now" at the start of the current hour: the attack then sits at the same place in its hours
    # on every run (the loss estimate moves by about 1 % with that alignment — a limit of detection, issue 11)
    hour = 3_600_000
    builder = ScenarioBuilder(load_spec(name), now_ms=int(time.time() * 1000) // hour * hour)
    built = builder.build()
    reader = next(c for c in built.credentials if c["role"] == "victim" and c["permissions"] == ["reading"])
    case = tmp_path / name
    case.mkdir()
    with SandboxServer(built.exchange).running() as server:
        client = BinanceClient(Credential(reader["api_key"], reader["private_key_pem"]), server.base_url)
        end = built.exchange.clock.now_ms()
        start = end - 7 * DAY_MS
        checkpoint = Checkpoint(case / "audit.sqlite")
        data = Auditor(client, checkpoint).collect(start, end)
    log = ActionLog()
    log.record("cancel open orders", "KGTUSDT: 2 cancelled")
    detection = detect(data, start)
    write_raw(case, checkpoint)
    write_tables(case, data, detection)
    timeline = write_findings(case, data, detection, log, audit_state="complete")
    status = CaseStatus("rejected", "2026-11-25T14:20:00+00:00", {"KGTUSDT": 2}, "complete", [], "audit key ab12…cd34")
    facts = CaseFacts("ab12…cd34", "0" * 64, 10000001, data, detection, timeline, ["cancel open orders"], status)
    write_reports(case, facts)
    digest = seal(case)
    return Case(case, builder, built.truth, built.credentials, facts, digest)


@pytest.fixture(scope="module")
def wash(tmp_path_factory) -> Iterator[Case]:
    yield _audited_case("wash-trade-theft", tmp_path_factory.mktemp("cases"))


@pytest.fixture(scope="module")
def withdrawal(tmp_path_factory) -> Iterator[Case]:
    yield _audited_case("withdrawal-theft", tmp_path_factory.mktemp("cases"))


def _true_loss(case: Case) -> float:
    return true_loss_usdt(case.builder.ledger, case.truth)


def _files(case: Case) -> dict[str, str]:
    return {
        p.relative_to(case.path).as_posix(): p.read_text("utf-8", errors="replace")
        for p in case.path.rglob("*")
        if p.is_file() and p.suffix != ".sqlite"
    }


@pytest.mark.parametrize("name", ["wash", "withdrawal"])
def test_total_loss_is_within_one_percent_of_the_ground_truth(name, request):
    case: Case = request.getfixturevalue(name)
    truth = _true_loss(case)
    flags = json.loads((case.path / "flags.json").read_text())
    assert truth > 10_000
    assert flags["total_loss_usdt"] == pytest.approx(truth, rel=0.01)
    breakdown = flags["loss_breakdown"]
    assert sum(breakdown[k] for k in ("trades_vs_market_usdt", "withdrawals_usdt", "transfers_out_usdt")) == (
        pytest.approx(flags["total_loss_usdt"], abs=0.05)
    )
    assert breakdown["unpriced"] == []
    headline = f"Estimated loss: {flags['total_loss_usdt']:,.2f} USDT"
    report = (case.path / "report.html").read_text()
    assert headline in report and headline in (case.path / "support-ticket.md").read_text()


def test_withdrawal_theft_counts_what_was_withdrawn_not_a_zero_trading_loss(withdrawal):
    flags = json.loads((withdrawal.path / "flags.json").read_text())
    [usdt_out, btc_out] = sorted(
        (f for f in flags["flags"] if f["kind"] == "withdrawal"), key=lambda f: f["asset"], reverse=True
    )
    assert (usdt_out["asset"], btc_out["asset"]) == ("USDT", "BTC")
    assert usdt_out["value_usdt"] == pytest.approx(usdt_out["amount"], abs=0.01)
    assert btc_out["value_usdt"] == pytest.approx(btc_out["amount"] * 60_000, rel=0.1)
    assert flags["loss_breakdown"]["withdrawals_usdt"] > 40_000
    report = (withdrawal.path / "report.html").read_text()
    story = re.search(r"<h2>What happened</h2><p>(.*?)</p>", report, re.DOTALL).group(1)
    address = "0xa77ac4e2b1f0d9c3e5a6b7c8d9e0f1a2b3c4d5e6"
    assert re.search(rf"withdrew [\d,.]+ USDT and 0\.2755 BTC to {address} on the ETH network", story), story
    assert "moved 11.2697 BNB to victim-sub@sandbox.invalid" in story


def test_wash_trade_report_opens_with_the_status_then_the_story_then_the_steps(wash):
    report = (wash.path / "report.html").read_text()
    order = [
        "is rejected by Binance since 25 Nov 2026 14:20 UTC",
        "Open orders cancelled: 2 (2 on KGTUSDT)",
        "Audit complete",
        "Estimated loss:",
        "<h2>What happened</h2>",
        "<h2>What to do now</h2>",
        "<svg",
    ]
    positions = [report.index(marker) for marker in order]
    assert positions == sorted(positions)
    story = re.search(r"<h2>What happened</h2><p>(.*?)</p>", report, re.DOTALL).group(1)
    assert re.search(r"someone using this key sold [\d.]+ BTC and [\d.]+ ETH for [\d,.]+ USDT", story), story
    times = float(re.search(r"bought [\d,.]+ KGT in 12 trades at about ([\d.]+) times its market price", story)[1])
    assert 7 < times < 11  # the scenario marks the coin up 8x over its last public price
    assert re.search(r"\(\d+ minutes\)", story)
    for command in (
        "keyguard verify",
        "keyguard evidence verify DIR --expect HASH",
        "keyguard keys add --label NAME --tool TOOL --profile read-only --ips SERVER.IP",
        "keyguard migrate FOLDER --apply",
        "keyguard vault add LABEL",
        "keyguard rotate LABEL",
        "keyguard keys check",
        "support-ticket.md",
    ):
        assert f"<code>{command}</code>" in report


def test_flagged_trades_are_grouped_per_symbol_with_market_price_and_deviation(wash):
    report = (wash.path / "report.html").read_text()
    section = report[report.index("KGTUSDT — 12 flagged trades") :]
    section = section[: section.index("</table>")]
    assert "<th>market price</th><th>deviation</th>" in section
    rows = re.findall(r"<tr><td class=t>.*?</tr>", section)
    assert len(rows) == 12 and all("<td>BUY</td>" in row for row in rows)
    assert all(re.search(r"\+\d{3,4}\.\d% \(\d+\.\d\d×\)", row) for row in rows)
    flags = json.loads((wash.path / "flags.json").read_text())
    kgt = [f for f in flags["flags"] if f.get("symbol") == "KGTUSDT"]
    assert all(f["market_price"] and f["deviation"] > 5 and f["side"] == "BUY" for f in kgt)


def test_charts_mark_the_attack_and_end_on_the_current_balance(wash):
    report = (wash.path / "report.html").read_text()
    assert "price, USDT per KGT" in report and "attack window" in report and "time (UTC)" in report
    kgt_now = wash.facts.data.balances["KGT"]
    assert f"KGT balance (now {kgt_now:,.2f} KGT)" in report


def test_the_sealed_case_verifies_and_no_file_holds_a_secret(wash, withdrawal):
    for case in (wash, withdrawal):
        check = verify_case(case.path)
        assert check.intact and check.complete and all(check.outside.values())
        everything = "\n".join(_files(case).values())
        for entry in case.credentials:
            for secret in (entry["api_key"], entry.get("secret"), entry.get("private_key_pem")):
                if not secret:
                    continue
                body = "".join(line for line in secret.splitlines() if "-----" not in line)
                for piece in (body[:24], body[-24:], body[len(body) // 2 : len(body) // 2 + 24]):
                    assert piece not in everything


def test_the_report_says_what_the_audit_could_see(wash):
    report = (wash.path / "report.html").read_text()
    assert "What the audit could see" in report and "no trade history across all symbols" in report
