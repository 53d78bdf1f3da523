"""Signing in: the password, then the second factor, each step throttled per account and per address.

Failed steps are counted in the rate-limit storage (REGISTRY_RATE_LIMIT_STORAGE_URL: shared by every worker
and host using the same Redis), in a moving window: after REGISTRY_SIGN_IN_LIMIT_ACCOUNT failures for one
account, or REGISTRY_SIGN_IN_LIMIT_ADDRESS from one address, every attempt is refused until the window has
room, even with the right password or code, and the refusal says how long to wait. Every step, good or bad,
is in the audit log.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select

from registry import models
from registry.auth import passwords, second_factor
from registry.auth.people import AccountProblem, PersonInfo, audit_account, person_info
from registry.context import Context
from registry.db import utcnow
from registry.permissions import Caller


class Throttled(AccountProblem):
    status = 429

    def __init__(self, retry_after: int):
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"Too many failed attempts: wait {minutes} minute(s) and try again.", "throttled")
        self.retry_after = retry_after
        self.extensions["retry_after"] = retry_after


class SignInThrottle:
    def __init__(self, storage_url: str, per_account: str, per_address: str):
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self.per_account, self.per_address = parse(per_account), parse(per_address)

    @classmethod
    def of(cls, ctx: Context) -> SignInThrottle:
        s = ctx.settings
        return cls(s.rate_limit_storage_url, s.sign_in_limit_account, s.sign_in_limit_address)

    def _counts(self, email: str, address: str | None):
        yield self.per_account, ("sign-in-account", email)
        if address:
            yield self.per_address, ("sign-in-address", address)

    def check(self, email: str, address: str | None) -> None:
        for limit, keys in self._counts(email, address):
            if not self.limiter.test(limit, *keys):
                reset = self.limiter.get_window_stats(limit, *keys).reset_time
                raise Throttled(max(1, int(reset - time.time())))

    def failed(self, email: str, address: str | None) -> None:
        for limit, keys in self._counts(email, address):
            self.limiter.hit(limit, *keys)


WRONG_PASSWORD = "The e-mail address or the password is wrong."


def check_password(ctx: Context, throttle: SignInThrottle, email: str, password: str,
                   address: str | None) -> PersonInfo:
    """The first step. The person may still lack a second factor (they must enrol it next)."""
    email = email.strip().lower()[:254]
    throttle.check(email, address)
    with ctx.db.read() as session:
        row = session.scalar(select(models.Person).where(models.Person.email == email))
        stored = row.password_hash if row else None
        info = person_info(session, row) if row else None
    if not passwords.verify_password(stored, password):
        throttle.failed(email, address)
        audit_account(ctx, None, "sign-in refused: wrong password", email, status=401, address=address)
        raise AccountProblem(WRONG_PASSWORD, "password-wrong", 401)
    if info.disabled:
        audit_account(ctx, None, "sign-in refused: account disabled", email, status=403, address=address)
        raise AccountProblem("This account is disabled; ask your network's secretariat.", "disabled", 403)
    if passwords.needs_rehash(stored):
        with ctx.db.write() as session:
            session.get(models.Person, info.id).password_hash = passwords.hash_password(password)
    return info


def check_code(ctx: Context, throttle: SignInThrottle, person_id: int, code: str, address: str | None) -> PersonInfo:
    """The second step with an authenticator app's code, or one of the recovery codes (used up)."""
    with ctx.db.write() as session:
        row = session.get(models.Person, person_id)
        throttle.check(row.email, address)
        step = second_factor.totp_step(row.totp_secret, code, row.totp_last_step) if row.totp_secret else None
        recovery = second_factor.recovery_hash(code)
        if step is not None:
            row.totp_last_step = step
            how = "authenticator app"
        elif "-" in code and recovery in row.recovery_codes:
            row.recovery_codes = [h for h in row.recovery_codes if h != recovery]
            how = f"recovery code ({len(row.recovery_codes)} left)"
        else:
            how = None
        email = row.email
    if how is None:
        throttle.failed(email, address)
        audit_account(ctx, None, "sign-in refused: wrong second-factor code", email, status=401, address=address)
        raise AccountProblem("The code is wrong or was used already; type the newest code of your app.",
                             "code-wrong", 401)
    return signed_in(ctx, person_id, how, address)


def signed_in(ctx: Context, person_id: int, how: str, address: str | None) -> PersonInfo:
    with ctx.db.write() as session:
        row = session.get(models.Person, person_id)
        if row.disabled:
            raise AccountProblem("This account is disabled; ask your network's secretariat.", "disabled", 403)
        row.last_sign_in_at = utcnow()
        info = person_info(session, row)
    audit_account(ctx, None, f"signed in with {how}", info.email, address=address)
    return info


def signed_out(ctx: Context, caller: Caller, address: str | None) -> None:
    audit_account(ctx, None, "signed out", caller.person, address=address)

