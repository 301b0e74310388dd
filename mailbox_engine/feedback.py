"""Campaign feedback found in synced mail: delivery failures (bounces) and replies.

Plain Python, no Odoo. :func:`classify` tells whether a message is a bounce and, when it
is, which recipients failed (hard or soft, with the status and the reason the reporting
server gave) and which sent message came back (its Message-IDs). Odoo applies it to the
campaign traces and notifications of the mailbox that received it.

Which recipients failed comes from ``flufl.bounce`` (it knows dozens of MTA formats);
the status, the reason and the returned original come from the report itself (RFC 3464
blocks, the returned message or its headers, the text around the address). Only mail
that looks sent by a machine about a delivery reaches the detectors: a person's mail is
never read as a bounce."""

import binascii
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from email.parser import HeaderParser
from email.utils import parseaddr

import flufl.bounce

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
MAX_IDS = 10  # Message-IDs kept from a bounce or a reply's headers
REASON_MAX = 500  # characters of a failure's reason
REPORT_MAX = 256 * 1024  # bytes of a big message read for a bounce: a report comes before what it returns


@dataclass(frozen=True)
class Failure:
    """One recipient of one bounce."""

    email: str  # normalized (lower case)
    hard: bool  # 5.x.x, or permanent by the detector when the format has no status
    status: str = ""  # "5.1.1" (the DSN's Status), "" when the format has none
    reason: str = ""  # what the reporting server said, one line, at most REASON_MAX characters


@dataclass(frozen=True)
class Bounce:
    """A delivery failure report: who failed and what came back."""

    failures: tuple = field(default_factory=tuple)  # of Failure
    original_ids: tuple = field(default_factory=tuple)  # Message-IDs of the returned original, best first
    loop: bool = False  # a bounce of a bounce (or of an automatic message): never applied

    def to_json(self):
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        return cls(
            failures=tuple(Failure(**failure) for failure in data.get("failures", ())),
            original_ids=tuple(data.get("original_ids", ())),
            loop=bool(data.get("loop")),
        )


def message_ids(*headers):
    """The Message-IDs named in these header values, in order, each once, at most MAX_IDS."""
    found = []
    for header in headers:
        for message_id in MESSAGE_ID.findall(header or ""):
            if message_id not in found:
                found.append(message_id)
    return found[:MAX_IDS]


def reply_ids(in_reply_to, references):
    """The Message-IDs a reply answers: In-Reply-To first, then References newest first."""
    return message_ids(in_reply_to, " ".join(reversed(MESSAGE_ID.findall(references or ""))))


_logger = logging.getLogger(__name__)
# flufl.bounce logs each detector it runs (INFO) and a traceback before it re-raises a
# detector's exception (ERROR): classify() says the outcome itself, at DEBUG
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

ROBOT_SENDERS = ("mailer-daemon", "postmaster")  # local parts of the servers' own senders
BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status )?notification|returned mail|failure notice|delivery failure|"
    r"delivery failed|non[- ]delivery|could not be delivered|delivery warning|user unknown|"
    r"non remis|unzustellbar",
    re.IGNORECASE,
)
FORWARDED = re.compile(r"^\s*(fwd?|tr|wg|rv)\s*:", re.IGNORECASE)  # a person passing a bounce on
STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
QUOTED_ID = re.compile(r"^[>\s]*Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")
RETURNED = ("message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers")
REPORTS = ("message/delivery-status", "message/global-delivery-status")

# RFC 3463: what a status says, by its subject and detail, else by its subject alone
STATUS_TEXT = {
    "1.1": "bad destination mailbox address",
    "1.2": "bad destination system address",
    "1.3": "bad destination mailbox address syntax",
    "1.6": "destination mailbox has moved",
    "2.1": "mailbox disabled, not accepting messages",
    "2.2": "mailbox full",
    "2.3": "message length exceeds administrative limit",
    "3.4": "message too big for system",
    "4.1": "no answer from host",
    "4.2": "bad connection",
    "4.4": "unable to route",
    "4.7": "delivery time expired",
    "7.1": "delivery not authorized, message refused",
}
SUBJECT_TEXT = {
    "0": "other or undefined status",
    "1": "addressing status",
    "2": "mailbox status",
    "3": "mail system status",
    "4": "network and routing status",
    "5": "mail delivery protocol status",
    "6": "message content or media status",
    "7": "security or policy status",
}


def classify(message):
    """The :class:`Bounce` that ``message`` (an ``email.message.Message``) is, else None.

    Never raises: a message no part of the reading expected is ordinary mail."""
    try:
        return _classify(message)
    except Exception as exc:  # a detector, or a header no decoder takes
        _logger.debug("Not read as a bounce (%s: %s)", type(exc).__name__, exc)
        return None


def _classify(message):
    if not is_bounce_candidate(message):
        return None
    parts, originals = [], []
    _walk(message, _value(message, "Message-ID").strip(), parts, originals)
    failures = _failures(message, parts)
    if not failures:
        return None
    ids = _original_ids(message, parts, originals)
    return Bounce(tuple(failures), tuple(ids), loop=any(map(_is_automatic, originals)))


def is_bounce_candidate(message):
    """Whether ``message`` looks sent by a mail server about a delivery: a report, a
    server's own sender, a failed-recipients header, or a failure Subject that no person
    forwarded or answered. Only those reach the detectors."""
    if message.get_content_type() == "multipart/report":
        return True
    header = _value(message, "From")
    sender = _address(header)
    if header and (not sender or sender.split("@")[0] in ROBOT_SENDERS):  # "<>" or a server's own
        return True
    if _value(message, "X-Failed-Recipients"):
        return True
    subject = _value(message, "Subject")
    if not BOUNCE_SUBJECT.search(subject) or FORWARDED.match(subject):
        return False
    return _auto_submitted(message) or not _value(message, "In-Reply-To")


def is_auto_submitted(message):
    """Whether ``message`` says a machine sent it (an auto-reply, an out-of-office):
    ``Auto-Submitted`` other than ``no``, ``X-Autoreply``, ``X-Autorespond`` or
    ``Precedence: auto_reply``. Never raises."""
    try:
        return bool(
            _auto_submitted(message)
            or _value(message, "X-Autoreply")
            or _value(message, "X-Autorespond")
            or _value(message, "Precedence").strip().lower() == "auto_reply"
        )
    except Exception:  # a header no decoder takes
        return False


def _auto_submitted(message):
    value = _value(message, "Auto-Submitted").strip().lower()
    return bool(value) and value != "no"


def _value(message, name):
    """The header ``name`` as text, "" when absent; the raw value when it cannot be decoded."""
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot parse
        value = next((raw for key, raw in message.raw_items() if key.lower() == name.lower()), None)
    return str(value) if value is not None else ""


def _address(text):
    """The normalized address in a header value or a report field ("rfc822; a@b"), else ""."""
    text = (text or "").split(";", 1)[-1].strip()  # a report field names its type first
    address = parseaddr(text)[1] or text.strip("<>")
    return address.strip().lower() if "@" in address else ""


def _valid(address):
    """Whether ``address`` can be a mailbox (detectors also return redacted or broken text)."""
    local = address.split("@")[0]
    return bool(ADDRESS.match(address)) and ".." not in local and not local.startswith(".")


# Failures: who, hard or soft, with which status and reason


def _failures(message, parts):
    """The failures of a report: the detectors' recipients, with each one's DSN block when it
    has one, plus the DSN's failed or delayed recipients the detectors missed."""
    temporary, permanent = flufl.bounce.all_failures(message)
    blocks = _dsn_blocks(parts)
    detected = {}
    for raw, hard in [(raw, False) for raw in temporary] + [(raw, True) for raw in permanent]:
        detected.setdefault(raw.decode("utf-8", "replace").strip().strip("<>").lower(), hard)
    for address, block in blocks.items():
        action = _value(block, "Action").strip().lower()
        named = [other for other, same in blocks.items() if same is block]
        if action.startswith(("fail", "error", "delayed")) and not any(other in detected for other in named):
            detected[address] = not action.startswith("delayed")
    subject = _value(message, "Subject")
    failures = [
        _failure(parts, subject, address, hard, blocks.get(address))
        for address, hard in sorted(detected.items())
        if _valid(address)
    ]
    return [failure for failure in failures if failure]


def _failure(parts, subject, address, hard, block):
    """The :class:`Failure` of one recipient; None when its DSN status says delivered (2.x.x)."""
    if block is None:
        return Failure(address, hard, "", _text_reason(parts, subject, address))
    match = STATUS.search(_value(block, "Status"))
    status = ".".join(match.groups()) if match else ""
    if status.startswith("2"):
        return None
    if status:
        hard = status.startswith("5")
    return Failure(address, hard, status, _dsn_reason(block, status) or _text_reason(parts, subject, address))


def _dsn_blocks(parts):
    """The recipient blocks of every delivery-status part, by Final-Recipient and
    Original-Recipient (lower case), the first block of an address kept."""
    blocks = {}
    for part in parts:
        if part.get_content_type() not in REPORTS:
            continue
        for block in _report_blocks(part):
            for name in ("Final-Recipient", "Original-Recipient", "X-Actual-Recipient"):
                address = _address(_value(block, name))
                if address:
                    blocks.setdefault(address, block)
    return blocks


def _report_blocks(part):
    """The header blocks of a delivery-status part, parsed by the email package or, when it
    left them as text (built by hand) or took base64 for them, by us."""
    blocks = [block for block in part.get_payload() if hasattr(block, "get")] if part.is_multipart() else []
    if not blocks:
        return _header_blocks(_decoded(part))
    if _value(part, "Content-Transfer-Encoding").strip().lower() == "base64":
        text = _base64_text("".join("".join(block.as_string().split()) for block in blocks))
        if text is not None:
            return _header_blocks(text)
    return blocks


def _header_blocks(text):
    """Header blocks separated by blank lines, each parsed as a message's header."""
    return [HeaderParser().parsestr(chunk.strip() + "\n") for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]


def _base64_text(encoded):
    """The text that ``encoded`` (base64) holds, None when it is no base64."""
    try:
        return binascii.a2b_base64(encoded + "=" * (-len(encoded) % 4)).decode("utf-8", "replace")
    except binascii.Error:
        return None


def _dsn_reason(block, status):
    """A DSN block's reason: its Diagnostic-Code without the type, else the status in words."""
    diagnostic = re.sub(r"^\s*[\w-]+\s*;\s*", "", _value(block, "Diagnostic-Code"))
    if diagnostic.strip():
        return _one_line(diagnostic)
    return _one_line(f"{status} {_status_text(status)}") if status else ""


def _status_text(status):
    """RFC 3463's words for an enhanced status code ("5.1.1" -> "bad destination mailbox address")."""
    _class, subject, detail = status.split(".")
    return STATUS_TEXT.get(f"{subject}.{detail}") or SUBJECT_TEXT.get(subject, "")


def _text_reason(parts, subject, address):
    """What the report's own text says about ``address``: the paragraph from the line naming
    it, else the report's first line; the Subject when its text has neither."""
    first = ""
    for part in parts:
        if part.get_content_type() != "text/plain":
            continue
        lines = _decoded(part).splitlines()
        for index, line in enumerate(lines):
            if address in line.lower():
                return _one_line(" ".join(_paragraph(lines, index, address)))
        first = first or next((line for line in lines if line.strip()), "")
    return _one_line(first or subject)


def _paragraph(lines, index, address):
    """The line at ``index`` and those after it up to a blank line (at most 5 lines); past
    the blank lines when the first one names the address and nothing else."""
    taken = []
    for line in lines[index:]:
        bare = not re.sub(r"\W", "", " ".join(taken).lower().replace(address, ""))
        if (taken and not line.strip() and not bare) or len(taken) == 5:
            break
        if line.strip():
            taken.append(line.strip())
    return taken


def _one_line(text):
    """``text`` on one line, runs of blanks made one space, at most REASON_MAX characters."""
    return " ".join((text or "").split())[:REASON_MAX]


def _walk(part, own_id, parts, originals, depth=0):
    """Sort the parts of a report: its own leaves (text, delivery-status) into ``parts``,
    the messages it returns (whole, or their headers alone) into ``originals``, not looked
    into. A returned report with the report's own Message-ID is a gateway's wrapping of
    the report: looked into as the report."""
    if depth and part.get_content_type() in RETURNED:
        inner = _as_message(part)
        wrapped = inner.get_content_type() == "multipart/report" and _value(inner, "Message-ID").strip() == own_id
        if own_id and wrapped and depth < 5:
            _walk(inner, own_id, parts, originals, depth + 1)
        else:
            originals.append(inner)
    elif part.get_content_maintype() == "multipart" and part.is_multipart():
        for sub in part.get_payload():
            _walk(sub, own_id, parts, originals, depth + 1)
    else:
        parts.append(part)


def _as_message(part):
    """The message a message/rfc822 (or headers) part carries, parsed when left as text."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and hasattr(payload[0], "get"):
        return payload[0]
    return HeaderParser().parsestr(_decoded(part).lstrip())


def _decoded(part):
    """The text of a leaf part, decoded by its charset (replacements where it lies)."""
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = str(part.get_payload() or "").encode("utf-8", "replace")
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


# The message that came back


def _original_ids(message, parts, originals):
    """The Message-IDs of the message that bounced, best first: the returned message's
    (and Exchange's original one), else those its quoted headers give, else the ones the
    report answers (its In-Reply-To and References)."""
    names = ("Message-ID", "X-Microsoft-Original-Message-ID")
    ids = message_ids(*(_value(original, name) for original in originals for name in names))
    if ids:
        return ids
    quoted = [
        found for part in parts if part.get_content_maintype() == "text" for found in QUOTED_ID.findall(_decoded(part))
    ]
    return message_ids(" ".join(quoted)) or reply_ids(_value(message, "In-Reply-To"), _value(message, "References"))


def _is_automatic(original):
    """Whether a returned message was itself sent by a machine: a report, a server's own
    sender, a null return path, or Auto-Submitted."""
    sender = _address(_value(original, "From"))
    return (
        original.get_content_type() == "multipart/report"
        or (bool(sender) and sender.split("@")[0] in ROBOT_SENDERS)
        or _value(original, "Return-Path").strip() == "<>"
        or _auto_submitted(original)
    )
