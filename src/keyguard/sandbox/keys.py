"""Sandbox API keys: HMAC, Ed25519 and RSA, with Binance's permission flags and IP whitelist."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import random
import string
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

ALNUM = string.ascii_letters + string.digits
PERMISSION_FIELDS = (
    "enableReading",
    "enableSpotAndMarginTrading",
    "enableWithdrawals",
    "enableInternalTransfer",
    "enableMargin",
    "enableFutures",
    "permitsUniversalTransfer",
    "enableVanillaOptions",
    "enableFixApiTrade",
    "enableFixReadOnly",
    "enablePortfolioMarginTrading",
)
# Short names used in scenario files and credentials.
PERMISSION_ALIASES = {
    "reading": "enableReading",
    "spot": "enableSpotAndMarginTrading",
    "withdrawals": "enableWithdrawals",
    "internal_transfer": "enableInternalTransfer",
    "margin": "enableMargin",
    "futures": "enableFutures",
    "universal_transfer": "permitsUniversalTransfer",
}


def random_token(rng: random.Random, length: int = 64) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(length))


@dataclass
class SandboxKey:
    label: str
    api_key: str
    key_type: str  # hmac | ed25519 | rsa
    account: str
    role: str
    permissions: dict[str, bool]
    ip_whitelist: list[str] = field(default_factory=list)
    secret: str | None = None  # HMAC only
    private_key_pem: str | None = None  # Ed25519 / RSA: given to the key's owner, kept for creds.json
    created_ms: int = 0
    deleted: bool = False
    _public_key: Any = field(default=None, repr=False)

    def verify(self, payload: bytes, signature: str) -> bool:
        if self.key_type == "hmac":
            assert self.secret is not None
            expected = hmac.new(self.secret.encode(), payload, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature.lower())
        try:
            raw = base64.b64decode(signature, validate=True)
        except ValueError:
            return False
        try:
            if self.key_type == "ed25519":
                self._public_key.verify(raw, payload)
            else:
                self._public_key.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    def allows(self, permission: str) -> bool:
        return bool(self.permissions.get(permission))

    def ip_allowed(self, ip: str) -> bool:
        return not self.ip_whitelist or ip in self.ip_whitelist

    def restrictions(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ipRestrict": bool(self.ip_whitelist), "createTime": self.created_ms}
        body.update({name: bool(self.permissions.get(name)) for name in PERMISSION_FIELDS})
        if self.permissions.get("enableSpotAndMarginTrading"):
            body["tradingAuthorityExpirationTime"] = self.created_ms + 90 * 86_400_000
        return body

    def credentials(self) -> dict[str, Any]:
        """The entry written to creds.json (sandbox keys only: printing them is fine)."""
        entry: dict[str, Any] = {"label": self.label, "api_key": self.api_key, "key_type": self.key_type}
        if self.key_type == "hmac":
            entry["secret"] = self.secret
        else:
            entry["private_key_pem"] = self.private_key_pem
        enabled = [alias for alias, name in PERMISSION_ALIASES.items() if self.permissions.get(name)]
        entry.update(
            {
                "permissions": enabled,
                "ip_whitelist": list(self.ip_whitelist),
                "role": self.role,
                "account": self.account,
            }
        )
        return entry


def permissions_from(names: list[str]) -> dict[str, bool]:
    unknown = [n for n in names if n not in PERMISSION_ALIASES]
    if unknown:
        raise ValueError(f"unknown permission(s) {unknown}; known: {sorted(PERMISSION_ALIASES)}")
    return {PERMISSION_ALIASES[n]: True for n in names}


def _probable_prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if (
            math.gcd(candidate, _SMALL_PRIMES_PRODUCT) == 1
            and pow(2, candidate - 1, candidate) == 1
            and _miller_rabin(candidate, rng)
        ):
            return candidate


def _miller_rabin(n: int, rng: random.Random, rounds: int = 20) -> bool:
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


_SMALL_PRIMES_PRODUCT = math.prod(p for p in range(3, 4000, 2) if all(p % q for q in range(3, int(p**0.5) + 1, 2)))


def seeded_rsa_key(rng: random.Random, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key drawn from the scenario's seed, so a seed always gives the same sandbox keys."""
    exponent = 65537
    while True:
        p, q = _probable_prime(rng, bits // 2), _probable_prime(rng, bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % exponent:
            break
    d = pow(exponent, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(exponent, p * q),
    )
    return numbers.private_key()


@cache
def _rsa_key_for(seed: int) -> rsa.RSAPrivateKey:
    return seeded_rsa_key(random.Random(seed))


def make_key(
    rng: random.Random,
    label: str,
    key_type: str,
    account: str,
    role: str,
    permissions: dict[str, bool],
    ip_whitelist: list[str],
    created_ms: int,
) -> SandboxKey:
    key = SandboxKey(
        label,
        random_token(rng),
        key_type,
        account,
        role,
        permissions,
        list(ip_whitelist),
        created_ms=created_ms,
    )
    if key_type == "hmac":
        key.secret = random_token(rng)
        return key
    if key_type == "ed25519":
        private = ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    elif key_type == "rsa":
        private = _rsa_key_for(rng.getrandbits(64))
    else:
        raise ValueError(f"unknown key type {key_type!r} (hmac, ed25519 or rsa)")
    key.private_key_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key._public_key = private.public_key()
    return key
