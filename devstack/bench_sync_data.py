"""The data set of the sync bench: realistic business messages of about 5 KB, appended
to a folder of the local Dovecot with their arrival times spread over the last days.

Every message is ``multipart/alternative`` (a plain text and an HTML part) with From,
To, Cc (two messages in three), Subject, Date and a unique Message-ID; every 20th one
is ``multipart/mixed`` and also carries a small CSV attachment of about 2 KB. The
content depends only on the seed and the message's number, so two runs with the same
seed produce the same bytes (apart from the dates, which follow the clock).

Plain Python (imapclient, no Odoo): usable from ``devstack.bench`` as well as from a
script run by ``odoo shell``.
"""

import base64
import binascii
import contextlib
import random
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formataddr

from imapclient import IMAPClient

FIRST_NAMES = [
    "Anna", "Ben", "Chloé", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Karin", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quentin", "Rosa", "Sven", "Tara",
    "Umar", "Vera", "Wim", "Xenia", "Yusuf", "Zoë", "Marc", "Julie", "Tomás", "Lena",
]  # fmt: skip
LAST_NAMES = [
    "Adams", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ivanova",
    "Jansen", "Kowalski", "Laurent", "Müller", "Nowak", "Olsen", "Peeters", "Rossi", "Schmidt",
    "Tanaka", "Urban", "Vidal", "Weber", "Young", "Zimmermann", "Martin", "Lefèvre", "Moreau",
]  # fmt: skip
COMPANIES = [
    "acme", "northwind", "globex", "initech", "umbrella", "hooli", "vandelay", "stark",
    "wayne", "tyrell", "cyberdyne", "soylent", "wonka", "gringotts", "oceanic", "monarch",
    "aperture", "blackmesa", "massive", "dunder", "sterling", "pied-piper", "contoso", "fabrikam",
]  # fmt: skip
TLDS = ["test", "example", "invalid"]
COLLEAGUES = ["sales", "office", "support", "accounts", "team", "purchasing"]
PRODUCTS = [
    "office chairs", "standing desks", "a CRM rollout", "laptop fleet", "cloud backup",
    "the annual maintenance plan", "printer cartridges", "network switches", "a training day",
    "conference room screens", "spare parts", "the spring catalogue", "barcode scanners",
    "solar panels", "packaging boxes", "a website redesign", "security audit", "coffee machines",
]  # fmt: skip
SUBJECTS = [
    "Quote request for {product}",
    "Question about {product}",
    "Follow-up on our call about {product}",
    "Order {ref}: {product}",
    "Pricing for {product} ({ref})",
    "Can we meet next week? {product}",
    "Invoice {ref} and delivery of {product}",
    "Interested in {product}",
]
WORDS = [
    "the", "a", "we", "our", "your", "you", "this", "that", "with", "for", "and", "to", "of", "in",
    "on", "at", "by", "from", "as", "is", "are", "was", "be", "will", "can", "could", "would",
    "should", "please", "thanks", "regards", "order", "delivery", "invoice", "quote", "price",
    "pricing", "discount", "volume", "units", "week", "month", "quarter", "budget", "proposal",
    "contract", "signature", "meeting", "call", "schedule", "timeline", "project", "team",
    "customer", "supplier", "warehouse", "stock", "shipping", "payment", "terms", "net", "thirty",
    "days", "update", "details", "attached", "summary", "question", "answer", "next", "steps",
    "review", "approve", "confirm", "request", "options", "model", "version", "support", "service",
    "level", "agreement", "renewal", "installation", "training", "onsite", "remote", "colleagues",
    "manager", "director", "account", "estimate", "total", "tax", "excluding", "including",
    "freight", "available", "lead", "time", "urgent", "soon", "tomorrow", "monday", "friday",
    "afternoon", "morning", "sample", "catalogue", "feedback",
]  # fmt: skip

TEXT_WORDS = 250  # with the HTML part and the headers: about 5 KB a message
ATTACHMENT_EVERY = 20
ATTACHMENT_ROWS = 32  # a CSV of about 1.5 KB, about 2 KB once in base64
CHUNK_BYTES = 1_000_000  # one MULTIAPPEND command carries at most about this much
CHUNK_MESSAGES = 200
QP = "Content-Transfer-Encoding: quoted-printable\r\n\r\n"


def _person(rng, domain=None):
    """(name, address, domain) of someone at ``domain`` (a random company's by default)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    domain = domain or f"{rng.choice(COMPANIES)}.{rng.choice(TLDS)}"
    local = unicodedata.normalize("NFKD", f"{first}.{last}".lower()).encode("ascii", "ignore").decode()
    return f"{first} {last}", f"{local}@{domain}", domain


def _paragraphs(rng):
    """About ``TEXT_WORDS`` words as paragraphs of sentences, in lines of 12 words."""
    words = rng.choices(WORDS, k=TEXT_WORDS)
    paragraphs, sentence, lines = [], [], []
    for n, word in enumerate(words, 1):
        sentence.append(word)
        if len(sentence) >= rng.randint(8, 16) or n == len(words):
            lines.append(" ".join(sentence).capitalize() + ".")
            sentence = []
            if len(lines) >= 5 or n == len(words):
                paragraphs.append(lines)
                lines = []
    return [_wrap(" ".join(p)) for p in paragraphs]


def _wrap(text, width=72):
    """``text`` in lines of at most ``width`` characters."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n".join(lines)


def _qp(text):
    """``text`` in quoted-printable, as mail clients send non-ASCII text."""
    return binascii.b2a_qp(text.encode(), istext=True).decode("ascii")


def _attachment(rng, n):
    rows = ["sku,description,quantity,unit_price"]
    for row in range(ATTACHMENT_ROWS - 1):
        rows.append(f"SKU-{n:06d}-{row:02d},{rng.choice(PRODUCTS)},{rng.randint(1, 500)},{rng.uniform(1, 999):.2f}")
    data = base64.encodebytes("\r\n".join(rows).encode()).decode().replace("\n", "\r\n")
    return (
        f'Content-Type: text/csv; charset="utf-8"; name="quote-{n:06d}.csv"\r\n'
        f'Content-Disposition: attachment; filename="quote-{n:06d}.csv"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{data}"
    )


def make_message(n, when, seed=0, to="inbox@mail.test"):
    """Message number ``n`` of the data set ``seed`` as RFC 5322 bytes (CRLF lines),
    dated ``when`` (a datetime, with its time zone; naive means UTC) and sent to ``to``.

    The same ``n`` and ``seed`` always give the same message apart from the date; the
    Message-ID is unique per (``seed``, ``n``)."""
    rng = random.Random(f"{seed}:{n}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    name, address, domain = _person(rng)
    product = rng.choice(PRODUCTS)
    ref = f"{rng.choice('ABCDEFGHJK')}{rng.randint(10000, 99999)}"
    subject = rng.choice(SUBJECTS).format(product=product, ref=ref)
    recipient_name = to.split("@")[0].replace(".", " ").title()
    # formataddr encodes non-ASCII names (=?utf-8?...?=) as a mail client would
    headers = [
        f"From: {formataddr((name, address))}",
        f"To: {formataddr((recipient_name, to))}",
    ]
    if n % 3:
        cc = [formataddr(_person(rng, domain)[:2]), f"{rng.choice(COLLEAGUES)}@{to.split('@')[-1]}"]
        headers.append(f"Cc: {', '.join(cc)}")
    message_id = f"<{seed}.{n}.{rng.getrandbits(64):016x}@{domain}>"
    headers += [
        f"Subject: {subject}",
        f"Date: {format_datetime(when)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Language: en-US",
        f"X-Mailer: Bench Mailer {1 + n % 4}.{n % 10}",
    ]
    paragraphs = _paragraphs(rng)
    greeting = f"Hello {recipient_name},"
    closing = f"Best regards,\r\n{name}\r\nRef. {ref}"
    text = "\r\n\r\n".join([greeting, *paragraphs, closing]) + "\r\n"
    html_paragraphs = "\r\n".join(f'<p style="margin:0 0 12px 0;line-height:1.4">{p}</p>' for p in paragraphs)
    html = (
        '<!DOCTYPE html>\r\n<html><head><meta charset="utf-8"></head>\r\n'
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222222">\r\n'
        f"<p>{greeting}</p>\r\n{html_paragraphs}\r\n"
        '<table style="border-top:1px solid #cccccc;margin-top:16px;padding-top:8px;font-size:12px">\r\n'
        f"<tr><td><b>{name}</b></td></tr>\r\n"
        f"<tr><td>{domain.split('.')[0].title()} Ltd, Sales department</td></tr>\r\n"
        f'<tr><td><a href="https://www.{domain}/">www.{domain}</a> | ref. {ref}</td></tr>\r\n'
        "</table>\r\n</body></html>\r\n"
    )
    inner = f"alt-{seed}-{n}"
    alternative = (
        f'--{inner}\r\nContent-Type: text/plain; charset="utf-8"\r\n{QP}{_qp(text)}'
        f'--{inner}\r\nContent-Type: text/html; charset="utf-8"\r\n{QP}{_qp(html)}'
        f"--{inner}--\r\n"
    )
    if (n + 1) % ATTACHMENT_EVERY:
        headers.append(f'Content-Type: multipart/alternative; boundary="{inner}"')
        body = alternative
    else:
        outer = f"mix-{seed}-{n}"
        headers.append(f'Content-Type: multipart/mixed; boundary="{outer}"')
        body = (
            f'--{outer}\r\nContent-Type: multipart/alternative; boundary="{inner}"\r\n\r\n{alternative}'
            f"--{outer}\r\n{_attachment(rng, n)}--{outer}--\r\n"
        )
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def arrival_times(count, days=60, now=None):
    """``count`` datetimes (UTC), oldest first, spread evenly over the ``days`` days before
    ``now``: the oldest is half a step after ``now - days``, the newest half a step before
    ``now``."""
    now = now or datetime.now(UTC)
    step = timedelta(days=days) / max(count, 1)
    start = now - timedelta(days=days)
    return [start + step * (i + 0.5) for i in range(count)]


def populate(imap_host, imap_port, login, password, count, days=60, folder="INBOX", seed=0):
    """Append ``count`` messages of the data set ``seed`` to ``folder`` of ``login``
    (plain IMAP, no TLS: the local Dovecot), oldest first, so that UIDs grow with time.

    Their INTERNALDATE and Date header are spread evenly over the last ``days`` days
    (none older, so ``SEARCH SINCE <today - days>`` finds them all). One connection;
    MULTIAPPEND in chunks of up to 200 messages or 1 MB when the server offers it, one
    APPEND per message otherwise. The folder is created when missing.

    Returns ``(seconds, count)``: the time taken (building the messages included) and
    the number of messages appended."""
    start = time.perf_counter()
    client = IMAPClient(imap_host, port=imap_port, ssl=False, timeout=60)
    try:
        client.login(login, password)
        if folder.upper() != "INBOX" and not client.folder_exists(folder):
            client.create_folder(folder)
        multi = client.has_capability("MULTIAPPEND")
        chunk, size = [], 0
        for n, when in enumerate(arrival_times(count, days)):
            raw = make_message(n, when, seed, to=login)
            if not multi:
                client.append(folder, raw, msg_time=when)
                continue
            chunk.append({"msg": raw, "date": when})
            size += len(raw)
            if len(chunk) >= CHUNK_MESSAGES or size >= CHUNK_BYTES:
                client.multiappend(folder, chunk)
                chunk, size = [], 0
        if chunk:
            client.multiappend(folder, chunk)
    finally:
        with contextlib.suppress(OSError, IMAPClient.Error):
            client.logout()
    return time.perf_counter() - start, count
