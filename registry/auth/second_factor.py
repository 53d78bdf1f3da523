"""Second factors: time-based one-time codes (TOTP, RFC 6238) with one-time recovery codes, and passkeys
(WebAuthn). Pure functions on what the account stores; registry.services.people keeps the state."""

from __future__ import annotations

import hashlib
import secrets
import time
from io import BytesIO

import pyotp
import qrcode
import qrcode.image.svg

ISSUER = "Contact-point registry"
RECOVERY_CODES = 10
# One step either side of now is accepted, for clocks a little off.
TOTP_WINDOW = 1


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an SVG QR code, to put in the page itself (no image request, nothing inline to run)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    out = BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg"):]


def totp_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    """The time step `code` is valid for, or None: a code is refused when it is wrong, outside the window,
    or of a step already used (replayed)."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    moment = time.time() if now is None else now
    current = int(moment // totp.interval)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """(the codes to show once, their hashes to store). Ten random characters each, so a fast hash suffices."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    codes = [f"{c[:5]}-{c[5:]}" for c in codes]
    return codes, [recovery_hash(c) for c in codes]


def recovery_hash(code: str) -> str:
    normal = "".join(code.lower().split()).replace("-", "")
    return hashlib.sha256(normal.encode()).hexdigest()
