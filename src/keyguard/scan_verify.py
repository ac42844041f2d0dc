"""scan --verify: found key and secret pairs are checked live, only against the configured Binance URL."""

from __future__ import annotations

from dataclasses import replace

from keyguard.exchange.client import BinanceClient
from keyguard.exchange.credentials import Credential
from keyguard.model import Finding, raised
from keyguard.posture.verify import Verification, verify


def _pairs(findings: list[Finding]) -> list[tuple[Finding, Finding]]:
    by_secret = {f.secret_sha256: f for f in findings}
    pairs = []
    for key in findings:
        if key.kind != "api_key" or not key.paired_with or key.value is None or key.example:
            continue
        partner = by_secret.get(key.paired_with)
        if partner is not None and partner.value is not None:
            pairs.append((key, partner))
    return pairs


def _verified(finding: Finding, result: Verification) -> Finding:
    if result.status == "live":
        permissions = tuple(sorted(name for name, on in result.permissions.items() if on))
        severity = "critical" if result.severity in ("critical", "high") else raised(finding.severity)
        return replace(finding, verified="live", permissions=permissions, severity=severity)
    if result.status == "dead":  # Binance refuses it: deleted (or bound to other IPs)
        return replace(finding, verified="dead", severity="low")
    return replace(finding, verified=result.status)


def verify_findings(findings: list[Finding], base_url: str | None) -> tuple[list[Finding], int]:
    """The findings with each distinct pair verified once; and how many pairs were checked."""
    results: dict[str, Verification] = {}
    pairs = _pairs(findings)
    for key, partner in pairs:
        assert key.value is not None and partner.value is not None
        credential = Credential(key.value.decode("ascii", "replace"), _pem_or_secret(partner.value))
        result = verify(BinanceClient(credential, base_url, max_retries=2))
        results[key.secret_sha256] = results[partner.secret_sha256] = result
    updated = [_verified(f, results[f.secret_sha256]) if f.secret_sha256 in results else f for f in findings]
    return updated, len(pairs)


def _pem_or_secret(value: bytes) -> str:
    text = value.decode("ascii", "replace")
    return text.replace("\\n", "\n") if text.startswith("-----BEGIN") else text
