"""One sync run of a mailbox, as a generator of plain requests to whoever stores the mail.

:func:`sync_mailbox` signs in, then for each folder (Inbox first) asks the planner what
to do and does it on the IMAP connection. It never touches a database: it *yields*
what it found (:class:`Lookup`, :class:`Batch`, :class:`Flags`, :class:`Present`,
:class:`Remapped`, :class:`FolderDone`, :class:`FolderGone`, :class:`FolderTrouble`) and the caller answers
(``generator.send``) — the answer to a :class:`Lookup` is the set of message keys
already stored; the rest need no answer. The caller may drive the generator from a
worker thread (each ``send`` does the network part until the next request) and write
every request in its own thread, so that several mailboxes are on the network at once
while the database writes stay in one transaction.

Every :class:`Batch` carries the folder's state *after* that batch (a checkpoint): a
run stopped anywhere (budget spent, connection dropped, worker killed before the caller
committed) resumes from the last state the caller stored, and the keys (``Message-ID``
per mailbox, UID per folder) make a batch stored twice a no-op.
"""

import contextlib
import email
import email.policy
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from .. import diagnosis as diag_lib
from .. import imap as imap_lib
from ..answers import item
from ..answers import search as search_uids
from ..connection_test import diagnosis_params
from .parse import parse, stable_message_id
from .planner import (
    Backfill,
    DeepScan,
    FetchChangedFlags,
    FetchNew,
    FolderState,
    RefreshFlags,
    Remap,
    Stop,
    deep_scan_every,
    plan,
)
from .session import folder_status, folder_statuses

BATCH = 200  # messages per FETCH
FETCH_BYTES = 32 * 1024 * 1024  # at most this much message data per FETCH of bodies
HEADERS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
# what one folder's run may meet that the others need not stop for (a dropped connection,
# IMAPClientAbortError or OSError, stops the whole run)
FOLDER_TROUBLES = (IMAPClientError, ValueError, LookupError)
VOLATILE = (
    "the server gives this folder a new UIDVALIDITY each time it is looked at, even after opening it "
    "read-write: its UIDs cannot be kept from one sync to the next, so it is not synced. "
    "Ask the server's administrator to repair the folder's UID list"
)


@dataclass
class Folder:
    """What Odoo has for one folder to sync."""

    folder_id: int
    path: str
    state: FolderState


@dataclass
class Item:
    """One message found on the server, to store (``headers_only``: its header was read,
    its body left on the server; ``parsed`` None: recorded, not read)."""

    uid: int
    flags: tuple
    size: int
    key: str  # its Message-ID (or one made from its header)
    parsed: object = None  # ParsedMessage (of the header alone when ``headers_only``)
    reason: str = ""  # why it is a placeholder
    headers_only: bool = False


@dataclass
class Lookup:
    """Which of ``keys`` does Odoo already store for this mailbox? (answer: a set)"""

    keys: list


@dataclass
class Batch:
    folder_id: int
    items: list  # new messages (Item)
    known: list  # (uid, flags, key) of messages Odoo already has: a new place for them
    state: FolderState  # the folder's state once this batch is stored
    fetched: int = 0  # progress: messages of the backfill done in this batch
    remaining: int = 0  # progress: messages of the backfill still to fetch


@dataclass
class Flags:
    folder_id: int
    flags: dict  # uid -> flags
    state: FolderState


@dataclass
class Present:
    """The deep scan: every UID of the folder on the server (below ``below``)."""

    folder_id: int
    uids: set
    below: int
    state: FolderState


@dataclass
class Remapped:
    """The folder's UIDs changed meaning: forget where Odoo's messages were in it."""

    folder_id: int
    state: FolderState


@dataclass
class FolderDone:
    folder_id: int
    state: FolderState
    more: bool = False  # the run's budget was spent before the folder was up to date


@dataclass
class FolderGone:
    folder_id: int
    reason: str


@dataclass
class FolderTrouble:
    """The server answered in this folder what the sync did not expect: this folder's run
    ends with the reason (what it stored before stays, the next run tries again); the
    other folders go on."""

    folder_id: int
    reason: str


@dataclass
class SyncFailedError(Exception):
    """The mailbox could not be synced (sign-in refused, server unreachable, dropped)."""

    diagnosis: object
    signed_in: bool = False


@dataclass
class Budget:
    """How many message bodies one run may fetch (the rest waits for the next run)."""

    left: int
    spent: int = field(default=0)

    def take(self, count):
        self.left -= count
        self.spent += count

    @property
    def done(self):
        return self.left <= 0


def _flags(values):
    """Flags as sorted text, without ``\\Recent`` (it only says which session saw it first)."""
    names = (v.decode() if isinstance(v, bytes) else str(v) for v in values)
    return tuple(sorted(name for name in names if name != "\\Recent"))


def _by_size(rows, most=FETCH_BYTES):
    """UIDs of ``rows`` ((uid, flags, size, key)) in groups of at most ``most`` bytes (a
    batch of big messages is fetched in several commands, never all in memory at once)."""
    groups, group, total = [], [], 0
    for uid, _unused, size, _key in rows:
        if group and total + size > most:
            groups.append(group)
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        groups.append(group)
    return groups


def _header_key(blob):
    """The Message-ID from the header fields fetched, or "" when there is none."""
    if not blob:
        return ""
    message = email.message_from_bytes(blob, policy=email.policy.compat32)
    return str(message.get("Message-ID") or "").replace("\x00", "").strip()


@dataclass
class _Run:
    """What the steps of one run share: the connection, the budget, the limits."""

    client: object
    budget: Budget
    size_cap: int
    today: date
    now: float  # epoch seconds (the deep scan's clock)

    def fetch_batch(self, uids):
        """(new Items, known (uid, flags, key)): headers first, bodies only of what Odoo
        does not have yet (it answers the :class:`Lookup`) and is under the size cap."""
        meta = self.client.fetch(uids, ["FLAGS", "RFC822.SIZE", HEADERS])
        rows = []
        for uid in uids:
            if uid not in meta:  # expunged meanwhile
                continue
            data = meta[uid]
            size = int(item(data, "RFC822.SIZE", 0))
            rows.append((uid, _flags(item(data, "FLAGS", ())), size, _header_key(item(data, HEADERS))))
        have = yield Lookup([key for _uid, _flags_, _size, key in rows if key])
        known = [(uid, flags, key) for uid, flags, _size, key in rows if key and key in have]
        wanted = [row for row in rows if not (row[3] and row[3] in have)]
        bodies = {}
        for part in _by_size([row for row in wanted if row[2] <= self.size_cap]):
            bodies.update(self.client.fetch(part, ["BODY.PEEK[]"]))
        big = [row[0] for row in wanted if row[2] > self.size_cap]
        heads = self.client.fetch(big, ["BODY.PEEK[HEADER]"]) if big else {}
        items = []
        for uid, flags, size, key in wanted:
            raw = item(bodies.get(uid), "BODY.PEEK[]")
            if raw is not None:
                parsed = parse(raw)
                items.append(Item(uid, flags, size, key or parsed.message_id, parsed))
            elif size > self.size_cap:  # its header only: listed like any other, keyed like any other
                reason = f"over the size limit ({size // 1024} KB): left on the server, fetched on demand"
                head = item(heads.get(uid), "BODY.PEEK[HEADER]")
                parsed = parse(head) if head is not None else None
                placeholder = key or (parsed.message_id if parsed else stable_message_id(f"{uid}:{size}".encode()))
                items.append(Item(uid, flags, size, placeholder, parsed, reason, headers_only=True))
            # else: expunged between the two fetches; the next run sees it gone
        return items, known

    def fetch_uids(self, folder_id, state, uids, state_after):
        """Fetch ``uids`` (already ordered) in batches, yielding the requests; returns
        (the last state, more to do). ``state_after(chunk)`` is the checkpoint of a batch."""
        done = 0
        while done < len(uids):
            if self.budget.done:
                return state, True
            chunk = uids[done : done + min(BATCH, self.budget.left)]
            items, known = yield from self.fetch_batch(chunk)
            state = state_after(chunk)
            done += len(chunk)
            self.budget.take(len(chunk))
            yield Batch(folder_id, items, known, state, len(chunk), max(0, len(uids) - done))
        return state, False

    def backfill(self, folder_id, state, status, days):
        """The mail of the last ``days`` days below the checkpoint, newest first."""
        if state.uidvalidity != status.uidvalidity:
            # a fresh start: everything below the current UIDNEXT; new mail comes after it
            state = replace(
                state,
                uidvalidity=status.uidvalidity,
                uidnext=status.uidnext,
                highestmodseq=status.highestmodseq,
                backfill_below=status.uidnext,
            )
        below = state.backfill_below
        since = self.today - timedelta(days=days)
        uids = sorted((u for u in search_uids(self.client, ["SINCE", since]) if u < below), reverse=True)
        start = state

        def after(chunk):
            return replace(start, backfill_below=min(chunk))

        state, more = yield from self.fetch_uids(folder_id, state, uids, after)
        if not more:
            state = replace(state, backfill_below=0, last_deep_scan=self.now)  # complete: as good as a scan
        return state, more

    def fetch_new(self, folder_id, state, status, action):
        """New UIDs, oldest first (so that UIDNEXT moves forward batch by batch)."""
        found = [u for u in search_uids(self.client, ["UID", f"{action.first}:{action.last}"]) if u >= action.first]
        start = state

        def after(chunk):
            return replace(start, uidnext=max(chunk) + 1)

        state, more = yield from self.fetch_uids(folder_id, state, found, after)
        if not more:
            state = replace(state, uidnext=status.uidnext)
        return state, more

    def flags(self, folder_id, state, uids=None, modseq=None):
        if modseq is not None:  # CONDSTORE: the UIDs whose flags changed since then
            uids = search_uids(self.client, ["MODSEQ", str(modseq + 1)])
        answer = self.client.fetch(uids, ["FLAGS"]) if uids else {}
        return Flags(folder_id, {uid: _flags(item(d, "FLAGS", ())) for uid, d in answer.items()}, state)


def _leave(client, path):
    """Leave the folder selected read-write without expunging anything (never CLOSE)."""
    if client.has_capability("UNSELECT"):
        client.unselect_folder()
    else:
        client.select_folder(path, readonly=True)


def steady_status(client, path, status, stored):
    """The folder's status once its UIDVALIDITY is one that holds, or None when it changes
    at each look. Called when ``status`` (from STATUS) differs from the ``stored``
    UIDVALIDITY (None: never synced). Servers that keep UIDs in a file only write it when
    a client opens the folder read-write, and until then answer each STATUS or EXAMINE
    with a new UIDVALIDITY: the folder is opened read-write once (no flag changed, nothing
    expunged), then looked at again. Equal to the stored value then: no renumbering;
    stable but different: a real one."""
    examined = client.select_folder(path, readonly=True) if stored is None else None
    if stored is None and item(examined, "UIDVALIDITY") == status.uidvalidity:  # never synced, and it holds
        return status
    try:
        client.select_folder(path)  # read-write
    except IMAPClientAbortError:
        raise
    except IMAPClientError:  # opened read-only only: what STATUS said is all there is
        return status
    _leave(client, path)
    again = folder_status(client, path)
    if stored is not None and again.uidvalidity == stored:
        return again
    last = folder_status(client, path)
    return last if last.uidvalidity == again.uidvalidity else None


def _trouble(exc):
    text = " ".join(str(exc).split())[:200]
    kind = type(exc).__name__
    return f"the server gave an answer the sync did not expect ({kind}: {text}); the next sync tries again"


def sync_folder(run, folder, now, *, condstore, backfill_days, status=None):
    """The requests of one folder's run (generator). An answer it did not expect ends this
    folder's run with a :class:`FolderTrouble` (what was stored before stays). ``status``:
    the folder's STATUS answer when already read (or the error it gave)."""
    try:
        yield from _sync_folder(run, folder, now, condstore=condstore, backfill_days=backfill_days, status=status)
    except IMAPClientAbortError:  # the connection dropped: the whole run fails
        raise
    except FOLDER_TROUBLES as exc:
        yield FolderTrouble(folder.folder_id, _trouble(exc))


def _sync_folder(run, folder, now, *, condstore, backfill_days, status=None):
    client = run.client
    try:
        if isinstance(status, Exception):
            raise status
        if status is None:
            status = folder_status(client, folder.path)
    except IMAPClientAbortError:  # the connection dropped: the run fails, the folder is not gone
        raise
    except IMAPClientError as exc:  # the folder is gone (or cannot be opened)
        yield FolderGone(folder.folder_id, f"the server refused to open it: {str(exc)[:120]}")
        return
    state = folder.state
    fid = folder.folder_id
    if status.uidvalidity != state.uidvalidity:
        status = steady_status(client, folder.path, status, state.uidvalidity)
        if status is None:  # not counted as a renumbering: nothing is stopped for good
            yield FolderTrouble(fid, VOLATILE)
            return
    actions = plan(state, status, now, condstore, backfill_days=backfill_days, deep_scan_every=deep_scan_every(fid))
    more = remapped = False
    if actions and not isinstance(actions[0], Stop):
        client.select_folder(folder.path, readonly=True)
    for action in actions:
        if isinstance(action, Stop):
            yield FolderGone(fid, action.reason)
            return
        if isinstance(action, Remap):
            state = FolderState(resets_in_row=state.resets_in_row + 1)
            remapped = True
            yield Remapped(fid, state)
        elif isinstance(action, Backfill):
            state, more_past = yield from run.backfill(fid, state, status, action.days)
            more = more or more_past
        elif isinstance(action, FetchNew):
            state, more_new = yield from run.fetch_new(fid, state, status, action)
            more = more or more_new
        elif isinstance(action, FetchChangedFlags):
            state = replace(state, highestmodseq=status.highestmodseq)
            yield run.flags(fid, state, modseq=action.modseq)
        elif isinstance(action, RefreshFlags):
            yield run.flags(fid, state, uids=sorted(search_uids(client, ["ALL"]), reverse=True)[: action.count])
        elif isinstance(action, DeepScan) and not (more or state.backfill_below):  # after the fetching
            state = replace(state, last_deep_scan=now)
            yield Present(fid, set(search_uids(client, ["ALL"])), state.uidnext or 0, state)
        if run.budget.done and more:
            break
    if not remapped and state.resets_in_row:  # the same UIDVALIDITY as last time
        state = replace(state, resets_in_row=0)
    yield FolderDone(fid, state, more)


def sign_in(server, address, ask_capabilities=False):
    """A logged-in IMAPClient, or :class:`SyncFailedError` with the diagnosis."""
    params = diagnosis_params(server, "IMAP", address)
    try:
        client = imap_lib.open_client(server, ask_capabilities=ask_capabilities)
    except (OSError, EOFError) as exc:  # the gate's refusal too
        raise SyncFailedError(diag_lib.from_network_error(exc, timeout=server.timeout, **params)) from None
    except imap_lib.StartTLSMissingError:
        raise SyncFailedError(diag_lib.diagnose("no_starttls", "STARTTLS", **params)) from None
    except IMAPClientError:
        # not an IMAP greeting: what the other side sent is never kept (another service's banner)
        raise SyncFailedError(diag_lib.diagnose("not_mail", "IMAP", **params)) from None
    try:
        imap_lib.login(client, server, address)
    except LoginError as exc:
        diagnosis = diag_lib.from_imap_error(exc, with_password=not server.oauth_token, **params)
    except (OSError, EOFError) as exc:
        diagnosis = diag_lib.from_network_error(exc, timeout=server.timeout, **params)
    else:
        return client
    with contextlib.suppress(Exception):
        client.shutdown()
    raise SyncFailedError(diagnosis)


def sync_mailbox(
    server,
    address,
    folders,
    now,
    *,
    backfill_days=60,
    size_cap=25 * 1024 * 1024,
    budget=1000,
    today=None,
    pipelined=True,
):
    """The requests of one mailbox's run (generator), folders in the order given (Inbox
    first). Raises :class:`SyncFailedError` when the sign-in fails or the server drops.

    A poll with nothing new is three round trips and a goodbye: the greeting, LOGIN (both
    give the capabilities), the STATUS of every folder sent at once, and LOGOUT sent but
    not waited for. ``pipelined=False`` asks as clients commonly do (CAPABILITY asked,
    one STATUS after the other, LOGOUT waited for): for a server that mishandles
    commands sent together, and as the baseline of the bench."""
    client = sign_in(server, address, ask_capabilities=not pipelined)
    spent = Budget(budget)
    run = _Run(client, spent, size_cap, today or date.today(), now)
    try:
        condstore = client.has_capability("CONDSTORE")
        statuses = folder_statuses(client, [folder.path for folder in folders]) if pipelined else {}
        for folder in folders:
            if spent.done:
                yield FolderDone(folder.folder_id, folder.state, True)
                continue
            yield from sync_folder(
                run,
                folder,
                now,
                condstore=condstore,
                backfill_days=backfill_days,
                status=statuses.get(folder.path),
            )
    except (OSError, EOFError, IMAPClientError) as exc:
        params = diagnosis_params(server, "IMAP", address)
        if isinstance(exc, ConnectionError | EOFError | IMAPClientAbortError):  # it answered, then went away
            diagnosis = diag_lib.diagnose("dropped", type(exc).__name__, **params)
        elif isinstance(exc, IMAPClientError):
            diagnosis = diag_lib.diagnose("protocol", "IMAP", detail=str(exc)[:200], **params)
        else:
            diagnosis = diag_lib.from_network_error(exc, timeout=server.timeout, **params)
        raise SyncFailedError(diagnosis, signed_in=True) from None
    finally:
        if pipelined:
            imap_lib.quit_now(client)
        else:
            with contextlib.suppress(Exception):  # the connection may be gone already
                client.logout()
