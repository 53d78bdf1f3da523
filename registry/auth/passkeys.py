"""Passkeys (WebAuthn) as a second factor, with py_webauthn: registration and authentication ceremonies.

The relying party is the node's public URL: its host is the RP ID and its origin the expected origin
(browsers refuse an IP address as RP ID, so passkeys need the node to be reached by a name, `localhost`
included). A challenge lives in the person's session between the options and the answer, used once.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import webauthn
from sqlalchemy import select
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from registry import models
from registry.auth.people import AccountProblem, PersonInfo, audit_account
from registry.auth.sign_in import SignInThrottle, signed_in
from registry.context import Context
from registry.db import utcnow

RP_NAME = "Contact-point registry"


def _relying_party(ctx: Context) -> tuple[str, str]:
    url = urlsplit(ctx.settings.public_url)
    return url.hostname, f"{url.scheme}://{url.netloc}"


def _credentials(session, person_id: int) -> list[models.Passkey]:
    return list(session.scalars(select(models.Passkey).where(models.Passkey.person_id == person_id)))


def registration_options(ctx: Context, person: PersonInfo) -> tuple[dict, str]:
    """(the options for navigator.credentials.create, the challenge to keep)."""
    rp_id, _ = _relying_party(ctx)
    with ctx.db.read() as session:
        existing = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(k.credential_id))
                    for k in _credentials(session, person.id)]
    options = webauthn.generate_registration_options(
        rp_id=rp_id, rp_name=RP_NAME, user_id=str(person.id).encode(), user_name=person.email,
        user_display_name=person.email, exclude_credentials=existing,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED))
    return json.loads(webauthn.options_to_json(options)), bytes_to_base64url(options.challenge)


def register(ctx: Context, person: PersonInfo, credential, challenge: str, *, address: str | None = None) -> None:
    rp_id, origin = _relying_party(ctx)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(challenge), expected_rp_id=rp_id,
            expected_origin=origin)
    except (InvalidRegistrationResponse, ValueError, TypeError, KeyError) as exc:
        raise AccountProblem(f"The passkey could not be registered: {exc}", "passkey-failed") from None
    with ctx.db.write() as session:
        session.add(models.Passkey(credential_id=bytes_to_base64url(verified.credential_id), person_id=person.id,
                                   public_key=verified.credential_public_key, sign_count=verified.sign_count,
                                   name=f"passkey of {utcnow():%Y-%m-%d}", created_at=utcnow()))
    audit_account(ctx, None, "second factor enrolled: passkey", person.email, address=address)


def authentication_options(ctx: Context, person_id: int) -> tuple[dict, str]:
    rp_id, _ = _relying_party(ctx)
    with ctx.db.read() as session:
        allowed = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(k.credential_id))
                   for k in _credentials(session, person_id)]
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, allow_credentials=allowed, user_verification=UserVerificationRequirement.PREFERRED)
    return json.loads(webauthn.options_to_json(options)), bytes_to_base64url(options.challenge)


def authenticate(ctx: Context, throttle: SignInThrottle, person_id: int, credential, challenge: str,
                 address: str | None = None) -> PersonInfo:
    rp_id, origin = _relying_party(ctx)
    with ctx.db.write() as session:
        person = session.get(models.Person, person_id)
        throttle.check(person.email, address)
        key = session.get(models.Passkey, credential.get("id", "")) if isinstance(credential, dict) else None
        try:
            if key is None or key.person_id != person_id:
                raise InvalidAuthenticationResponse("not a passkey of this account")
            verified = webauthn.verify_authentication_response(
                credential=credential, expected_challenge=base64url_to_bytes(challenge), expected_rp_id=rp_id,
                expected_origin=origin, credential_public_key=key.public_key,
                credential_current_sign_count=key.sign_count)
        except (InvalidAuthenticationResponse, ValueError, TypeError, KeyError):
            verified = None
        if verified is not None:
            key.sign_count, key.last_used_at = verified.new_sign_count, utcnow()
        email = person.email
    if verified is None:
        throttle.failed(email, address)
        audit_account(ctx, None, "sign-in refused: passkey not verified", email, status=401, address=address)
        raise AccountProblem("The passkey could not be checked.", "passkey-failed", 401)
    return signed_in(ctx, person_id, "passkey", address)
