"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), HMAC-SHA1, 6 digits, 30 s.

These are the defaults every authenticator app uses (Google Authenticator, Microsoft
Authenticator, 阿里云 and 腾讯身份验证器), so a bureau needs nothing but a phone app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

DIGITS = 6
STEP_SECONDS = 30
# One step either side: phone clocks drift and typing a code takes a few seconds.
WINDOW = 1


def new_secret() -> str:
    """A fresh 160-bit secret (the size RFC 4226 recommends for SHA-1), in base32."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(secret: str, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226: HMAC-SHA1 of the 8-byte big-endian counter, dynamically truncated."""
    mac = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def step_at(unix_time: float) -> int:
    return int(unix_time // STEP_SECONDS)


def totp(secret: str, unix_time: float | None = None) -> str:
    """The code in force at `unix_time` (default: now)."""
    return hotp(secret, step_at(time.time() if unix_time is None else unix_time))


def verify(
    secret: str, code: str, *, unix_time: float | None = None, last_step: int | None = None
) -> int | None:
    """The time step `code` belongs to, or None if it is wrong, too old, or already used.

    A step at or before `last_step` is refused so one code logs in only once.
    """
    code = (code or "").strip().replace(" ", "")
    if not secret or len(code) != DIGITS or not code.isdigit():
        return None
    now = step_at(time.time() if unix_time is None else unix_time)
    for step in range(now - WINDOW, now + WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        # compare_digest: the comparison takes the same time however many digits match.
        if hmac.compare_digest(hotp(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str = "防贫") -> str:
    """The otpauth:// address authenticator apps import (typed in, or shown as a QR code)."""
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into a phone."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
