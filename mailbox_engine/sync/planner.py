"""What one sync run of a folder must do, decided from plain values only: the folder's
saved state (what Odoo has) and the server's STATUS answer (what the server has).

The decisions follow how mature engines sync IMAP (UIDVALIDITY, UIDNEXT, CONDSTORE's
HIGHESTMODSEQ, a periodic deep scan where there is no cheaper way to see deletions):

- a folder never synced, or whose UIDVALIDITY changed, is backfilled (and after a
  UIDVALIDITY change, what Odoo has is matched again by Message-ID, never duplicated);
  too many UIDVALIDITY changes in a row stop the folder's sync, with the reason;
- new mail is what lies between the saved UIDNEXT and the server's;
- flag changes: what changed since the saved HIGHESTMODSEQ (``SEARCH MODSEQ``) where the server offers
  CONDSTORE, else a bounded refresh of the newest messages (Microsoft);
- deletions and moves: a deep scan (UID list compared with Odoo's) every so often;
- nothing changed: nothing to do beyond the STATUS that told it (one round trip).
"""

from dataclasses import dataclass

DEEP_SCAN_EVERY = 600  # seconds between two deep scans of a folder
FLAG_REFRESH = 100  # newest messages whose flags are read again without CONDSTORE
MAX_UIDVALIDITY_RESETS = 5  # in a row, before the folder's sync stops (a broken server)


@dataclass(frozen=True)
class FolderState:
    """What Odoo saved after the last run (``None``: never synced)."""

    uidvalidity: int | None = None
    uidnext: int | None = None  # every UID below it was fetched (or recorded with a reason)
    highestmodseq: int | None = None
    last_deep_scan: float | None = None  # epoch seconds
    resets_in_row: int = 0
    backfill_below: int = 0  # the backfill is not finished: UIDs below this one are still to fetch


@dataclass(frozen=True)
class FolderStatus:
    """The server's answer to ``STATUS (UIDVALIDITY UIDNEXT [HIGHESTMODSEQ])``."""

    uidvalidity: int
    uidnext: int
    highestmodseq: int | None = None


@dataclass(frozen=True)
class Backfill:
    """Fetch the mail of the last ``days`` days, newest first."""

    days: int


@dataclass(frozen=True)
class Remap:
    """UIDVALIDITY changed: Odoo's UIDs of this folder mean nothing any more; match what
    Odoo has again by Message-ID (X-GM-MSGID on Gmail) while backfilling."""

    old: int
    new: int


@dataclass(frozen=True)
class FetchNew:
    """Fetch UIDs ``first`` to ``last`` (inclusive)."""

    first: int
    last: int


@dataclass(frozen=True)
class FetchChangedFlags:
    """``UID FETCH 1:* (FLAGS) (CHANGEDSINCE modseq)``."""

    modseq: int


@dataclass(frozen=True)
class RefreshFlags:
    """Read the flags of the newest ``count`` messages again (no CONDSTORE)."""

    count: int


@dataclass(frozen=True)
class DeepScan:
    """Compare the server's UID list with Odoo's: deletions and moves."""


@dataclass(frozen=True)
class Stop:
    """Stop syncing this folder, with the reason (shown to the user)."""

    reason: str


def deep_scan_every(folder_id, every=DEEP_SCAN_EVERY):
    """The seconds between two deep scans of this folder: ``every`` give or take a
    quarter, the same for a folder from one run to the next but spread from one folder to
    the other (by its id), so that folders synced for the first time together do not all
    fall due for their deep scans in the same poll ever after."""
    spread = (folder_id * 0.6180339887) % 1.0  # golden ratio: consecutive ids land far apart
    return every * (0.75 + 0.5 * spread)


def plan(state, status, now, condstore, *, backfill_days=60, deep_scan_every=DEEP_SCAN_EVERY):
    """The actions of one run, in the order to do them (an empty list: nothing changed)."""
    if state.uidvalidity is None:
        return [Backfill(backfill_days)]
    if status.uidvalidity != state.uidvalidity:
        if state.resets_in_row + 1 >= MAX_UIDVALIDITY_RESETS:
            return [
                Stop(
                    f"the server renumbered this folder {state.resets_in_row + 1} times in a row "
                    "(UIDVALIDITY changed each time): its sync stops until someone looks at the server"
                )
            ]
        return [Remap(state.uidvalidity, status.uidvalidity), Backfill(backfill_days)]
    actions = []
    if state.uidnext is None or status.uidnext > state.uidnext:
        first = state.uidnext or 1
        actions.append(FetchNew(first, status.uidnext - 1))
    if state.backfill_below:  # an interrupted backfill goes on (after the newest mail)
        actions.append(Backfill(backfill_days))
    if condstore and status.highestmodseq is not None:
        if state.highestmodseq is None or status.highestmodseq > state.highestmodseq:
            actions.append(FetchChangedFlags(state.highestmodseq or 0))
    elif not condstore:
        actions.append(RefreshFlags(FLAG_REFRESH))
    if state.last_deep_scan is None or now - state.last_deep_scan >= deep_scan_every:
        actions.append(DeepScan())
    return actions


def batches(first, last, size):
    """UID ranges of at most ``size`` UIDs covering ``first``..``last``, newest first."""
    ranges = []
    high = last
    while high >= first:
        low = max(first, high - size + 1)
        ranges.append((low, high))
        high = low - 1
    return ranges
