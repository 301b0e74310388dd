"""What a reply, a reply to all and a forward carry, as mail clients make them: the
threading headers (RFC 5322 section 3.6.4), the recipients, the subject and the words
above the quote. Plain values in, plain values out: no Odoo here.

A Message-ID taken from a stored header is only ever used when it has the shape
``<left@right>`` with no space, no line break and no angle bracket inside, so nothing a
sender wrote can add a header line to the mail we send."""

import re
from email.utils import getaddresses

MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
MODES = [("reply", "Reply"), ("reply_all", "Reply all"), ("forward", "Forward"), ("new", "New message")]
REFERENCES_MAX = 20  # Message-IDs kept in References: the first, and the newest
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw|r)\s*(\[\d+\])?\s*:", re.IGNORECASE)
_FORWARD_PREFIX = re.compile(r"^\s*(fwd?|tr|wg|rv)\s*:", re.IGNORECASE)


def message_ids(text):
    """The Message-IDs of a header's value (References, In-Reply-To), in order, each once;
    anything that is not one is left out."""
    seen, found = set(), []
    for message_id in MESSAGE_ID.findall(text or ""):
        if message_id not in seen:
            seen.add(message_id)
            found.append(message_id)
    return found


def references(parent_id, parent_references="", parent_in_reply_to="", limit=REFERENCES_MAX):
    """The References of a reply to the message ``parent_id``: the parent's References
    (or, without them, its In-Reply-To) followed by the parent's own Message-ID, as RFC
    5322 says. Past ``limit`` Message-IDs, the middle goes: the first (the conversation's
    start) and the newest stay, which is what threading needs."""
    chain = message_ids(parent_references) or message_ids(parent_in_reply_to)[:1]
    parent = message_ids(parent_id)[:1]
    chain = [message_id for message_id in chain if message_id not in parent] + parent
    if len(chain) > limit:
        chain = chain[:1] + chain[len(chain) - (limit - 1) :]
    return chain


def in_reply_to(parent_id):
    """The In-Reply-To of a reply: the parent's Message-ID, or nothing if it has none fit
    to use."""
    found = message_ids(parent_id)
    return found[0] if found else ""


def reply_subject(subject):
    """ "Re: " once before the subject (never "Re: Re: ")."""
    subject = (subject or "").strip()
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}".strip()


def forward_subject(subject):
    subject = (subject or "").strip()
    return subject if _FORWARD_PREFIX.match(subject) else f"Fwd: {subject}".strip()


def _addresses(*values):
    """(name, address) of each address of ``values`` (header texts), in order."""
    return [(name, address) for name, address in getaddresses([v for v in values if v]) if "@" in address]


def _formatted(name, address):
    """``Name <address>`` as a mail client shows it (the name quoted where it must be)."""
    name = re.sub(r'[\r\n"\\]', "", name or "").strip()
    if not name:
        return address
    return f'"{name}" <{address}>' if re.search(r"[()<>\[\]:;@,.]", name) else f"{name} <{address}>"


def reply_recipients(mode, sender, reply_to, to, cc, *, own, sent_by_us=False):
    """(To, Cc) of a reply (``mode`` "reply") or of a reply to all ("reply_all"), as lists
    of formatted addresses. Reply goes to the Reply-To, else the sender; to our own sent
    message (``sent_by_us``), to its recipients. Reply to all adds the other recipients,
    the Cc kept as Cc. Our own addresses (``own``) go, and each address comes once."""
    own = {address.lower() for address in own if address}
    if sent_by_us:
        first, rest_to = _addresses(to), []
    else:
        first, rest_to = _addresses(reply_to) or _addresses(sender), _addresses(to)
    seen, result_to, result_cc = set(own), [], []
    for target, addresses in (
        (result_to, first),
        (result_to, rest_to if mode == "reply_all" else []),
        (result_cc, _addresses(cc) if mode == "reply_all" else []),
    ):
        for name, address in addresses:
            if address.lower() not in seen:
                seen.add(address.lower())
                target.append(_formatted(name, address))
    if not result_to and not sent_by_us and first:  # a reply to oneself: still to oneself
        result_to.append(_formatted(*first[0]))
    return result_to, result_cc
