"""The outbox's other end: render queued messages from templates and send them over SMTP.

The app's lifespan starts it (:func:`mail_sender`). Each pass leases a batch of due messages in
one short write unit (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas never share a batch),
sends them on one SMTP connection outside any transaction, and records each outcome in its own
write unit. A failure is retried with backoff (``gathering.mail.messages.retry_delay``); a
registration never waits on SMTP. Delivery is at least once, see ``gathering.mail.messages``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from urllib.parse import urlsplit

import jinja2

from gathering.core.database import Database
from gathering.core.i18n import use_language
from gathering.core.settings import Settings
from gathering.core.templating import TEMPLATES, install_i18n
from gathering.mail import messages as mail
from gathering.mail.messages import Outgoing
from gathering.mail.queries import Json
from gathering.registration.tickets import qr_png

log = logging.getLogger(__name__)

# Seconds between passes when nobody calls wake(); other replicas' mail waits this long.
POLL_INTERVAL = 2.0
BATCH_SIZE = 20
SMTP_TIMEOUT = 20.0  # seconds per SMTP command; BATCH_SIZE × this stays well inside mail.LEASE
SHUTDOWN_GRACE = 10.0  # seconds a stopping app lets the current batch finish


# --- rendering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "email"),
        # Escape the HTML part only; the subject and the text part are plain text.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,  # a missing required key fails loudly, in last_error
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    install_i18n(env)
    return env


def render(message: Outgoing, *, base_url: str = "") -> Rendered:
    """Subject, text and HTML: stored ones, or rendered from the kind's templates and context.

    ``base_url`` (the public address) lets a template make a link from a path in its context.
    Templated messages are rendered in the message's language (its recipient's, issue 18).
    """
    if message.context is None:
        return Rendered(message.subject, message.body_text, message.body_html)
    with use_language(message.language):
        return _render_templated(message, message.context, base_url)


def _render_templated(message: Outgoing, stored: Json, base_url: str) -> Rendered:
    env = _environment()
    context = dict(stored)
    context.setdefault("base_url", base_url.rstrip("/"))
    context["inline_images"] = [a["cid"] for a in message.attachments if a["kind"] == "qr_png"]
    context["attached_files"] = [a["filename"] for a in message.attachments if a["kind"] == "file"]
    subject = env.get_template(f"{message.kind}.subject.txt").render(context)
    return Rendered(
        # One line, whatever the template or the context held: no header injection.
        subject=" ".join(subject.split()),
        text=env.get_template(f"{message.kind}.txt").render(context),
        html=env.get_template(f"{message.kind}.html").render(context),
    )


def message_id(message_id_number: int, settings: Settings) -> str:
    """Stable per outbox row, so a resend after a crash is recognisably the same message."""
    host = urlsplit(settings.base_url).hostname or "localhost"
    return f"<outbox-{message_id_number}@{host}>"


def compose(message: Outgoing, settings: Settings, *, now: dt.datetime) -> EmailMessage:
    """The MIME message: text and HTML alternatives, inline QR images, attached files."""
    rendered = render(message, base_url=settings.base_url)
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.to_address
    email["Subject"] = rendered.subject
    email["Date"] = format_datetime(now.astimezone(dt.UTC))
    email["Message-ID"] = message_id(message.id, settings)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    email.set_content(rendered.text)
    inline = [a for a in message.attachments if a["kind"] == "qr_png"]
    if rendered.html:
        email.add_alternative(rendered.html, subtype="html")
        html_part = email.get_body(("html",))
        assert html_part is not None
        for spec in inline:
            html_part.add_related(
                qr_png(spec["data"], box_size=8),
                maintype="image",
                subtype="png",
                cid=f"<{spec['cid']}>",
                disposition="inline",
                filename=f"{spec['cid']}.png",
            )
    else:
        for spec in inline:
            email.add_attachment(
                qr_png(spec["data"], box_size=8),
                maintype="image",
                subtype="png",
                cid=f"<{spec['cid']}>",
                filename=f"{spec['cid']}.png",
            )
    for spec in message.attachments:
        if spec["kind"] != "file":
            continue
        maintype, subtype = spec["content_type"].split("/", 1)
        if maintype == "text":
            email.add_attachment(spec["text"], subtype=subtype, filename=spec["filename"])
        else:
            email.add_attachment(
                spec["text"].encode(), maintype=maintype, subtype=subtype, filename=spec["filename"]
            )
    return email


@dataclass(frozen=True)
class Preview:
    """What the outbox viewer shows of one message (``error`` set when it cannot be rendered)."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    html: str = ""
    html_for_display: str = ""  # cid: images swapped for data: URIs, for a sandboxed iframe
    attachments: list[tuple[str, str, int]] = field(default_factory=list)
    error: str = ""


def preview(message: Outgoing, settings: Settings) -> Preview:
    try:
        email = compose(message, settings, now=message.created_at)
    except (jinja2.TemplateError, KeyError, ValueError) as error:
        return Preview(error=f"{type(error).__name__}: {error}")
    headers = [(name, str(value)) for name, value in email.items()]
    text = html = ""
    display = ""
    files: list[tuple[str, str, int]] = []
    images: dict[str, str] = {}
    for part in email.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        if part.get_content_disposition() in ("attachment", "inline") or part["Content-ID"]:
            files.append((part.get_filename() or "", content_type, size))
            if part["Content-ID"] and isinstance(payload, bytes):
                encoded = base64.b64encode(payload).decode()
                images[part["Content-ID"].strip("<>")] = f"data:{content_type};base64,{encoded}"
        elif content_type == "text/plain" and not text:
            text = str(part.get_content())
        elif content_type == "text/html" and not html:
            html = str(part.get_content())
    display = html
    for cid, uri in images.items():
        display = display.replace(f"cid:{cid}", uri)
    return Preview(headers, text, html, display, files)


# --- sending -------------------------------------------------------------------------------------


def _error_text(error: BaseException, settings: Settings) -> str:
    """A short reason for the viewer, never holding the SMTP password."""
    text = f"{type(error).__name__}: {error}".strip()
    for secret in (settings.smtp_password, settings.smtp_username):
        if secret:
            text = text.replace(secret, "***")
    return text[:1000]


def _is_permanent(error: BaseException) -> bool:
    """5xx replies to one message (RFC 5321 §4.2.1) will not change on retry; 4xx and I/O may."""
    import aiosmtplib

    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code >= 500
    return False


class MailSender:
    """Delivers due outbox messages; one per process, safe with several processes on one database.

    Call :meth:`wake` after committing a write that queued mail to send it at once rather than at
    the next poll.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], dt.datetime] = mail.utcnow,
        batch_size: int = BATCH_SIZE,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def is_enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    def wake(self) -> None:
        """Start a pass now (cheap; safe to call after every commit, even with no SMTP set up)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def send_due(self) -> int:
        """Lease one batch of due messages and try each once; returns how many were leased."""
        batch = await mail.claim_due(self.db, now=self.clock(), limit=self.batch_size)
        if batch:
            await self._deliver(batch)
        return len(batch)

    async def send_until_idle(self) -> None:
        """Pass after pass until nothing is due (failed messages wait for their backoff)."""
        while await self.send_due() and not self._stopping:
            pass

    async def run(self) -> None:
        """Pass, then sleep until woken or ``poll_interval`` passes; until :meth:`stop`."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.send_until_idle()
            except Exception:
                # A database outage must not end the sender; the next pass tries again.
                log.exception("mail sender pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _deliver(self, batch: list[Outgoing]) -> None:
        import aiosmtplib

        ready: list[tuple[Outgoing, EmailMessage]] = []
        for message in batch:
            try:
                ready.append((message, compose(message, self.settings, now=self.clock())))
            except (jinja2.TemplateError, KeyError, ValueError) as error:
                log.error("outbox message %s cannot be rendered: %s", message.id, error)
                await self._failed(message, error)
        pending = list(ready)
        smtp = aiosmtplib.SMTP(
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username or None,
            password=self.settings.smtp_password or None,
            start_tls=self.settings.smtp_starttls,
            timeout=SMTP_TIMEOUT,
        )
        try:
            async with smtp:
                while pending:
                    message, email = pending[0]
                    try:
                        await smtp.send_message(email)
                    except (
                        aiosmtplib.SMTPRecipientsRefused,
                        aiosmtplib.SMTPResponseException,
                    ) as error:
                        # Refused this message only; aiosmtplib has sent RSET, the session goes on.
                        pending.pop(0)
                        await self._failed(message, error, is_permanent=_is_permanent(error))
                        continue
                    pending.pop(0)
                    await mail.record_sent(self.db, message.id, now=self.clock())
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            if pending:
                log.warning(
                    "SMTP unavailable, %d message(s) will be retried: %s", len(pending), error
                )
            for message, _email in pending:
                await self._failed(message, error)

    async def _failed(
        self, message: Outgoing, error: BaseException, *, is_permanent: bool = False
    ) -> None:
        await mail.record_failure(
            self.db,
            message,
            now=self.clock(),
            error=_error_text(error, self.settings),
            is_permanent=is_permanent,
        )


@contextlib.asynccontextmanager
async def mail_sender(db: Database, settings: Settings) -> AsyncIterator[MailSender]:
    """Run a :class:`MailSender` in the background while the block runs (the app's lifespan).

    With no ``smtp_host`` nothing is sent: messages stay queued for the admin outbox viewer.
    """
    sender = MailSender(db, settings)
    if not sender.is_enabled:
        log.info("no SMTP host set: mail stays in the outbox (see /admin/outbox)")
        yield sender
        return
    task = asyncio.create_task(sender.run(), name="mail sender")
    try:
        yield sender
    finally:
        sender.stop()
        # Let the current batch finish so nothing is sent twice; cancel it if SMTP hangs.
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, SHUTDOWN_GRACE)
