"""Outbound mail over SMTP (REGISTRY_SMTP_URL): plain to a local relay, STARTTLS or implicit TLS, with
credentials when the URL carries them. A message that cannot be handed over within REGISTRY_SMTP_TIMEOUT
raises MailNotSent with the reason; callers record it and offer to send again."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from registry.config import Settings


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the message; str() says why."""


class RecipientRefused(MailNotSent):
    """The SMTP server refused the recipient for good (a 5xx answer to RCPT TO): the address bounces, and
    sending again will not help."""


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_url)


def send(settings: Settings, to: str, subject: str, text: str, headers: dict[str, str] | None = None) -> str:
    """Hand one plain-text message to the SMTP server, with extra `headers` if given; its Message-ID."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or "localhost")
    # Links must reach the reader whole (a person may read the message in a terminal, as from the local
    # debugging server): no quoted-printable soft breaks in them while the text allows it.
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text, cte="7bit" if text.isascii() and max(map(len, text.splitlines())) < 998 else None)
    url = urlsplit(settings.smtp_url)
    try:
        if url.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=settings.smtp_timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(url.hostname, url.port or 25, timeout=settings.smtp_timeout)
        with smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = RecipientRefused if codes and all(500 <= code < 600 for code in codes) else MailNotSent
        raise error(f"{type(exc).__name__}: {exc}"[:500]) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(f"{type(exc).__name__}: {exc}"[:500]) from None
    return message["Message-ID"]
