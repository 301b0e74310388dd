"""The IMAP side of a sync run, on a logged-in IMAPClient: STATUS, a folder's UIDs
since a date (newest first), and messages fetched in batches under a size cap (a
message over it is reported with its size, not fetched)."""

from dataclasses import dataclass
from datetime import date, timedelta

from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from imapclient.response_parser import parse_response
from imapclient.util import to_unicode

from ..answers import item
from ..answers import search as search_uids
from .planner import FolderStatus


@dataclass
class Fetched:
    uid: int
    flags: tuple
    size: int
    raw: bytes | None  # None: over the size cap, not fetched


def _status_items(client):
    what = ["UIDVALIDITY", "UIDNEXT"]
    condstore = client.has_capability("CONDSTORE")
    if condstore:
        what.append("HIGHESTMODSEQ")
    return what, condstore


def folder_status(client, path):
    """The server's :class:`FolderStatus` of ``path`` (one round trip, no SELECT)."""
    what, condstore = _status_items(client)
    return _status(client.folder_status(path, what), condstore)


def folder_statuses(client, paths):
    """``{path: FolderStatus or the error of its STATUS}`` of every path in one round
    trip: the STATUS commands are all sent, then their answers read (pipelined; each
    answer is read before the next command's, so each is its own folder's). A dropped
    connection raises."""
    what, condstore = _status_items(client)
    imap = client._imap  # pylint: disable=protected-access
    items = "(" + " ".join(what) + ")"
    tags = [
        (path, imap._command("STATUS", client._normalise_folder(path), items))  # pylint: disable=protected-access
        for path in paths
    ]
    found = {}
    for path, tag in tags:
        try:
            typ, data = imap._command_complete("STATUS", tag)  # pylint: disable=protected-access
            answers = imap.untagged_responses.pop("STATUS", [])
            if typ != "OK":
                raise IMAPClientError(f"STATUS command error: {typ} {[to_unicode(d) for d in data if d]!r}"[:300])
            if not answers:
                raise ValueError("a STATUS answer without the folder's status")
            parsed = parse_response(answers)
            found[path] = _status(dict(zip(parsed[-1][::2], parsed[-1][1::2], strict=False)), condstore)
        except IMAPClientAbortError:
            raise
        except (IMAPClientError, ValueError) as exc:
            found[path] = exc
    return found


def _status(answer, condstore):
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
