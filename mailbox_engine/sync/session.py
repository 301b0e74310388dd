"""The IMAP side of a sync run, on a logged-in IMAPClient: STATUS, a folder's UIDs
since a date (newest first), and messages fetched in batches under a size cap (a
message over it is reported with its size, not fetched)."""

from dataclasses import dataclass
from datetime import date, timedelta

from ..answers import item
from ..answers import search as search_uids
from .planner import FolderStatus


@dataclass
class Fetched:
    uid: int
    flags: tuple
    size: int
    raw: bytes | None  # None: over the size cap, not fetched


def folder_status(client, path):
    """The server's :class:`FolderStatus` of ``path`` (one round trip, no SELECT)."""
    what = ["UIDVALIDITY", "UIDNEXT"]
    condstore = client.has_capability("CONDSTORE")
    if condstore:
        what.append("HIGHESTMODSEQ")
    answer = client.folder_status(path, what)
    uidvalidity, uidnext, modseq = (item(answer, name) for name in ("UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ"))
    if uidvalidity is None or uidnext is None:
        raise ValueError(f"a STATUS answer without UIDVALIDITY or UIDNEXT: {sorted(answer)!r}"[:200])
    return FolderStatus(int(uidvalidity), int(uidnext), int(modseq) if condstore and modseq is not None else None)


def uids_since(client, path, days, today=None):
    """UIDs of ``path`` received in the last ``days`` days, newest first (read-only)."""
    client.select_folder(path, readonly=True)
    since = (today or date.today()) - timedelta(days=days)
    return sorted(search_uids(client, ["SINCE", since]), reverse=True)


def fetch(client, uids, size_cap):
    """Flags, size and bytes of ``uids`` (in the selected folder); bodies over
    ``size_cap`` bytes are left on the server (their size says why)."""
    if not uids:
        return []
    meta = client.fetch(uids, ["FLAGS", "RFC822.SIZE"])
    small = [uid for uid in uids if uid in meta and int(item(meta[uid], "RFC822.SIZE", 0)) <= size_cap]
    bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
    found = []
    for uid in uids:
        if uid not in meta:  # expunged meanwhile
            continue
        raw = item(bodies.get(uid), "BODY.PEEK[]")
        size = int(item(meta[uid], "RFC822.SIZE", 0))
        found.append(Fetched(uid, tuple(item(meta[uid], "FLAGS", ())), size, raw))
    return found
