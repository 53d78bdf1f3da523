"""aiosmtpd handlers for the tests' SMTP server process (`python -m aiosmtpd -c mail_handlers.RefusingMailbox`)."""

from __future__ import annotations

from aiosmtpd.handlers import Mailbox


class RefusingMailbox(Mailbox):
    """Delivers into a Maildir like aiosmtpd's Mailbox, but refuses for good (550 at RCPT TO) every recipient
    whose address begins with `refused`, as a server that knows no such mailbox does."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refused"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"
