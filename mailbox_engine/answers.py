"""IMAP answers read by what they mean, not by the exact text the client sent.

Servers may answer a FETCH item in another spelling than asked: ``BODY.PEEK[...]`` comes
back as ``BODY[...]``, a header field name may be quoted (``HEADER.FIELDS ("MESSAGE-ID")``,
an astring), the case may differ. A SEARCH answer may carry a MODSEQ item even when it
matched nothing (``* SEARCH (MODSEQ 1)``, which imapclient 4.1 refuses), come in several
``* SEARCH`` lines, or as ``* ESEARCH``. The helpers here read all of those the same way.
"""

import itertools
import re

from imapclient.imapclient import _normalise_search_criteria

_PEEK = re.compile(rb"^(BODY|BINARY)\.PEEK\[")
_SPACES = re.compile(rb"\s+")
_PARENTHESIS = re.compile(rb"\(\s*|\s*\)")
_MODSEQ = re.compile(rb"\(\s*MODSEQ\s+(\d+)\s*\)", re.IGNORECASE)
_GROUP = re.compile(rb"\([^()]*\)")
_RANGE = re.compile(rb"^(\d+)(?::(\d+))?$")


def item_key(name):
    """The meaning of a FETCH or STATUS item's name: upper case, no quotes around field
    names, single spaces, ``BODY.PEEK[`` read as ``BODY[`` (what the answer names)."""
    if isinstance(name, str):
        name = name.encode()
    key = _SPACES.sub(b" ", name.upper().replace(b'"', b"")).strip()
    key = _PARENTHESIS.sub(lambda m: m.group(0).strip(), key)
    return _PEEK.sub(rb"\1[", key)


def item(data, name, default=None):
    """The value of item ``name`` (as asked, e.g. ``"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"``)
    in one message's FETCH answer, a STATUS or a SELECT answer (a dict), however the
    server spelled it."""
    if not data:
        return default
    for key in (name, name.encode() if isinstance(name, str) else name):
        if key in data:
            return data[key]
    wanted = item_key(name)
    for key, value in data.items():
        if isinstance(key, (bytes, str)) and item_key(key) == wanted:
            return value
    return default


def parse_search(lines, esearch=()):
    """(UIDs, MODSEQ or None) from the ``* SEARCH`` lines' data (``b"1 2 3"``, ``b""``,
    ``b"(MODSEQ 1)"``, ``b"4 5 (MODSEQ 9)"``, None) and the ``* ESEARCH`` lines' data
    (``b'(TAG "A1") UID ALL 1:3,7 MODSEQ 9'``)."""
    uids, modseq = [], None
    for data in lines:
        line = _bytes(data)
        for found in _MODSEQ.finditer(line):
            modseq = max(modseq or 0, int(found.group(1)))
        for word in _GROUP.sub(b" ", line).split():
            if not word.isdigit():
                raise ValueError(f"unexpected SEARCH answer: {line[:80]!r}")
            uids.append(int(word))
    for data in esearch:
        words = _GROUP.sub(b" ", _bytes(data)).split()
        for name, value in itertools.pairwise(words):
            if name.upper() == b"ALL":
                uids.extend(_sequence_set(value))
            elif name.upper() == b"MODSEQ" and value.isdigit():
                modseq = max(modseq or 0, int(value))
    return sorted(set(uids)), modseq


def _bytes(data):
    if not data:
        return b""
    return data if isinstance(data, bytes) else str(data).encode()


def _sequence_set(text):
    uids = []
    for part in text.split(b","):
        found = _RANGE.match(part)
        if not found:
            raise ValueError(f"unexpected ESEARCH set: {text[:80]!r}")
        low = int(found.group(1))
        high = int(found.group(2) or low)
        uids.extend(range(min(low, high), max(low, high) + 1))
    return uids


def search(client, criteria):
    """``UID SEARCH criteria`` in the selected folder: the UIDs (sorted), whatever form
    of SEARCH answer the server gives (see :func:`parse_search`). ``criteria`` as for
    ``IMAPClient.search``."""
    imap = client._imap  # the answer's lines themselves: imapclient's own reading refuses some
    imap.untagged_responses.pop("SEARCH", None)
    imap.untagged_responses.pop("ESEARCH", None)
    typ, data = client._raw_command(b"SEARCH", _normalise_search_criteria(criteria, None))
    lines = imap.untagged_responses.pop("SEARCH", [])
    esearch = imap.untagged_responses.pop("ESEARCH", [])
    client._checkok("search", typ, data)
    uids, _modseq = parse_search(lines, esearch)
    return uids
