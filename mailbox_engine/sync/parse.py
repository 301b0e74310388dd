"""A fetched message turned into plain values, whatever it contains: headers decoded
(an unknown or lying charset falls back, never raises), the text and HTML bodies, the
attachments; a message without a Message-ID gets a stable one derived from its header
(so a retry, a renumbered folder or a fetch of its header alone finds it again).

A message is keyed by :func:`message_digest` of its Message-ID: a fixed-size key that a
database index always takes, whatever the sender put in the header."""

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import getaddresses, parsedate_to_datetime

from .. import feedback


@dataclass
class Attachment:
    name: str
    mimetype: str
    data: bytes


@dataclass
class ParsedMessage:
    message_id: str
    subject: str = ""
    sender: str = ""
    to: list = field(default_factory=list)
    cc: list = field(default_factory=list)
    date: object = None  # naive UTC datetime, or None
    text: str = ""
    html: str = ""
    attachments: list = field(default_factory=list)
    in_reply_to: str = ""  # the Message-ID this one answers
    thread_key: str = ""  # the Message-ID its conversation started with (References), else its own
    references: str = ""  # its References header, as received (a reply's own is built from it)
    reply_to: str = ""  # where its sender asks replies to go
    problems: list = field(default_factory=list)  # what could not be read, in words
    bounce: object = None  # a feedback.Bounce when the message is a delivery failure report
    auto_submitted: bool = False  # sent by a machine (auto-reply, out of office): not a person's reply


MESSAGE_ID_MAX = 998  # characters of a Message-ID kept as text (a header line's limit)
_NOT_IN_KEY = re.compile(r"[ \t\r\n]")  # folding whitespace: no part of a Message-ID


def message_digest(message_id):
    """The fixed-size key of a Message-ID (hex SHA-256 of it without folding whitespace)."""
    return hashlib.sha256(_NOT_IN_KEY.sub("", message_id or "").encode("utf-8", "replace")).hexdigest()


def clean_text(text):
    """``text`` as a database takes it: no NUL, no lone surrogate (left by 8-bit bytes)."""
    if not text:
        return text
    text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text


def _has_surrogates(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _header(message, name, problems):
    try:
        value = message.get(name)
    except Exception:  # a header no decoder accepts
        problems.append(f"the {name} header could not be decoded")
        raw = message.get_all(name, failobj=[""])  # the raw value, as received
        return str(raw[0]) if raw else ""
    if value is None:
        return ""
    text = str(value)
    if "\ufffd" in text or _has_surrogates(text):  # 8-bit bytes, or an encoded word of an unknown charset
        problems.append(f"the {name} header could not be read in full (shown with replacement characters)")
    return text


def _text(part, problems):
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError, ValueError):
        problems.append(f"a part declared as {charset} was read as UTF-8 with replacements")
        return payload.decode("utf-8", errors="replace")


def header_block(raw):
    """The header section of a message (or of its header alone), line ends made even."""
    raw = (raw or b"").replace(b"\r\n", b"\n")
    return raw.split(b"\n\n", 1)[0].rstrip()


def stable_message_id(raw):
    """For a message without a Message-ID: one made from its header (the same each time,
    whether the whole message or only its header was fetched)."""
    return f"<mcm-{hashlib.sha256(header_block(raw)).hexdigest()[:32]}@no-message-id>"


def parse(raw):
    """:class:`ParsedMessage` from the bytes of one message; never raises (what could not
    be read is said in ``problems``; NUL characters and lone surrogates, which no
    database text takes, go). ``raw`` may be a header alone (no body: none is read)."""
    problems = []
    try:
        parsed = _parse(raw, problems)
    except Exception as exc:  # a structure no part of the parser expected
        problems.append(f"the message could not be read in full ({type(exc).__name__})")
        parsed = ParsedMessage(message_id=stable_message_id(raw), problems=problems)
    return _without_nul(parsed)


def _without_nul(parsed):
    clean = clean_text
    parsed.message_id = clean(parsed.message_id) or stable_message_id(b"")
    parsed.subject, parsed.sender = clean(parsed.subject), clean(parsed.sender)
    parsed.in_reply_to = clean(parsed.in_reply_to)
    parsed.references, parsed.reply_to = clean(parsed.references), clean(parsed.reply_to)
    parsed.thread_key = clean(parsed.thread_key) or parsed.message_id
    parsed.text, parsed.html = clean(parsed.text), clean(parsed.html)
    parsed.to, parsed.cc = [clean(a) for a in parsed.to], [clean(a) for a in parsed.cc]
    for attachment in parsed.attachments:
        attachment.name = clean(attachment.name)
        attachment.mimetype = clean(attachment.mimetype)
    return parsed


def _parse(raw, problems):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    message_id = _header(message, "Message-ID", problems).strip() or stable_message_id(raw)
    parsed = ParsedMessage(message_id=message_id, problems=problems)
    parsed.subject = _header(message, "Subject", problems)
    parsed.in_reply_to = _header(message, "In-Reply-To", problems).strip().split(" ")[0]
    parsed.references = _header(message, "References", problems)
    references = parsed.references.split()
    parsed.thread_key = (references[0] if references else parsed.in_reply_to) or message_id
    parsed.sender = _header(message, "From", problems)
    parsed.reply_to = _header(message, "Reply-To", problems)
    parsed.to = [address for _name, address in getaddresses([_header(message, "To", problems)]) if address]
    parsed.cc = [address for _name, address in getaddresses([_header(message, "Cc", problems)]) if address]
    date = _header(message, "Date", problems)
    if date:
        try:
            value = parsedate_to_datetime(date)
            parsed.date = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        except (TypeError, ValueError, OverflowError):
            problems.append("the Date header could not be read")
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        ctype = part.get_content_type()
        if disposition == "attachment" or (part.get_filename() and disposition != "inline"):
            data = part.get_payload(decode=True) or b""
            parsed.attachments.append(Attachment(part.get_filename() or "attachment", ctype, data))
        elif ctype == "text/plain" and not parsed.text:
            parsed.text = _text(part, problems)
        elif ctype == "text/html" and not parsed.html:
            parsed.html = _text(part, problems)
    parsed.auto_submitted = feedback.is_auto_submitted(message)
    if _has_body(raw):  # a header alone (a message over the size cap) says too little to tell
        parsed.bounce = _bounce(raw, message)
    return parsed


def _bounce(raw, message):
    """The bounce ``message`` is, else None. Of a big one only the beginning is read: a
    report comes before the message it returns, whose body the detectors would crawl."""
    if len(raw) > feedback.REPORT_MAX and feedback.is_bounce_candidate(message):
        message = email.message_from_bytes(raw[: feedback.REPORT_MAX], policy=email.policy.default)
    return feedback.classify(message)


def _has_body(raw):
    """Whether ``raw`` has anything after its header section."""
    parts = (raw or b"").replace(b"\r\n", b"\n").split(b"\n\n", 1)
    return len(parts) == 2 and bool(parts[1].strip())
