"""scan --verify: found key and secret pairs are checked live, only against the configured Binance URL."""

from __future__ import annotations

from keyguard.detect.findings import Finding, raised
from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.posture.verify import Verification, verify


def _pairs(findings: list[Finding]) -> dict[tuple[bytes, bytes], list[Finding]]:
    by_place = {(f.path, f.secret_sha256): f for f in findings}
    pairs: dict[tuple[bytes, bytes], list[Finding]] = {}
    for key in findings:
        if key.kind != "api_key" or not key.paired_with or key.value is None or key.example:
            continue
        partner = by_place.get((key.path, key.paired_with))
        if partner is None or partner.value is None:
            continue
        pairs.setdefault((key.value, partner.value), []).extend([key, partner])
    return pairs


def _apply(result: Verification, findings: list[Finding]) -> None:
    for finding in findings:
        finding.verified = result.status
        if result.status == "live":
            finding.permissions = sorted(name for name, on in result.permissions.items() if on)
            finding.severity = "critical" if result.severity in ("critical", "high") else raised(finding.severity)
        elif result.status == "dead":
            finding.severity = "low"  # Binance refuses it: deleted (or bound to other IPs)


def verify_findings(findings: list[Finding], base_url: str | None) -> int:
    """Verifies each distinct pair once; returns how many pairs were checked."""
    pairs = _pairs(findings)
    for (key, secret), members in pairs.items():
        credential = Credential(key.decode("ascii", "replace"), _pem_or_secret(secret))
        _apply(verify(BinanceClient(credential, base_url, max_retries=2)), members)
    return len(pairs)


def _pem_or_secret(value: bytes) -> str:
    text = value.decode("ascii", "replace")
    return text.replace("\\n", "\n") if text.startswith("-----BEGIN") else text
