"""The listener in Odoo: holds the connected mailboxes' Inboxes in IDLE
(``mailbox_engine.listener``) and syncs a mailbox as soon as its Inbox changes.

* **Sent too** where the user logs mail sent from other mail apps (*Log on contacts
  and leads*: all mail with known contacts) and the Sent folder is synced: through
  NOTIFY on the Inbox's connection where the server offers it, else a second
  connection. Each account's connections stay under its provider's limit
  (``account_budget``): an Inbox past it is not held, a Sent folder past it is not
  watched (both stay polled).
* **Tokens renewed before they expire**: the listener asks for a token
  ``TOKEN_MARGIN_SECONDS`` before it expires; a fresh one is had (refreshed now) and the
  connection is made again with it, the old one closed once the new one watches.

* **Shared between listeners**: each mailbox is held by one listener, the one that got
  its PostgreSQL advisory lock (``pg_try_advisory_lock(LOCK_CLASS, mailbox id)``) on a
  connection of its own, kept open. A listener that dies loses its connection, hence
  its locks: another one takes its mailboxes over at its next scan (every minute).
  The account's lock (server and login) is taken first: the mailboxes of one account
  are all held by one listener, so its budget of connections holds across listeners.
* **Only what may sync**: connected, enabled and not archived mailboxes; one lost,
  disabled, archived or deleted leaves within seconds (``LEAVE_SECONDS``).
* **A change syncs at once**: one sync round of that mailbox, run here in a cursor of
  the listener (as Sync now does), not waiting for the sync cron. A mailbox that
  another process is syncing right now is tried again a few seconds later. Polling
  (the sync cron) goes on for every mailbox, held or not.
* **A refused sign-in** goes to the status owner as the sync's does.
"""

import contextlib
import logging
import queue
import time
from datetime import UTC

import psycopg2

from odoo import SUPERUSER_ID, api, models, sql_db
from odoo.modules.registry import Registry

from ..mailbox_engine import providers
from ..mailbox_engine.listener import Listener, account_budget, account_of
from ..mailbox_engine.oauth import OAuthError

_logger = logging.getLogger(__name__)

LOCK_CLASS = 0x6D636D4C  # the first key of the listeners' advisory locks (the second: the mailbox id)
ACCOUNT_LOCK_CLASS = 0x6D636D41  # the same for accounts (the second: a hash of server and login)
SCAN_SECONDS = 60  # between two scans: new mailboxes join, those of a dead listener are taken over
LEAVE_SECONDS = 5  # between two looks at the held mailboxes: one lost, disabled or archived leaves
SYNC_BATCH = 10  # mailboxes synced together in one transaction after their change
RETRY_SECONDS = 5  # a mailbox another process is syncing right now is synced again after this


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    @api.model
    def _listen_candidates(self):
        """Ids of the mailboxes a listener holds: connected (so enabled) and not archived."""
        self.env.cr.execute("SELECT id FROM mail_mailbox WHERE active AND state = 'connected' ORDER BY id")
        return [row[0] for row in self.env.cr.fetchall()]

    def _listen_server(self, refresh=False):
        """Where and as whom the listener signs in (a fresh token when it expires soon, or
        refreshed now with ``refresh``), or ``None`` when the token cannot be had (the
        status owner is told)."""
        self.ensure_one()
        try:
            token = self._get_access_token(force=refresh) if providers.PROVIDERS[self.provider].oauth else None
        except OAuthError as exc:
            self._apply_diagnosis(exc.diagnosis)
            return None
        return self._server("imap", token)

    def _listen_token_expires(self):
        """When the OAuth token the listener signs in with expires (``time.time()``
        seconds), or ``None`` (a password, or not known)."""
        self.ensure_one()
        expires = self.sudo().token_expires_at if providers.PROVIDERS[self.provider].oauth else None
        return expires.replace(tzinfo=UTC).timestamp() if expires else None

    def _listen_sent(self):
        """``(path, (UIDVALIDITY, UIDNEXT) as last synced)`` of the Sent folder the listener
        watches too, or ``(None, None)``: only where the user logs mail sent from other
        mail apps (all mail with known contacts) and the Sent folder is synced."""
        self.ensure_one()
        if self.log_mode != "known":
            return None, None
        sent = self.sudo().folder_ids.filtered(lambda f: f.selected and f.present and f.use == "\\Sent")[:1]
        if not sent:
            return None, None
        state = sent._folder_state()
        return sent.path, (state.uidvalidity, state.uidnext)

    def _listen_inbox_mark(self):
        """``(UIDVALIDITY, UIDNEXT)`` of the Inbox as last synced (``(None, None)``: never),
        or ``None`` when the Inbox is not synced (nothing to compare)."""
        inbox = self.sudo().folder_ids.filtered(lambda f: f.selected and f.present and f.path.upper() == "INBOX")[:1]
        if not inbox:
            return None
        state = inbox._folder_state()
        return (state.uidvalidity, state.uidnext)

    def _listen_sync(self):
        """One sync round now of these mailboxes, whose Inbox changed; return the ids
        another process is syncing right now (to try again shortly)."""
        self._ensure_sync_rows()
        claimed = self._claim_sync(ids=self.ids, limit=len(self))
        if claimed and claimed._sync_round():  # more than a round's budget: the cron goes on at once
            self.env.ref("mail_connected_mailbox.ir_cron_mailbox_sync")._trigger()
        return set(self.ids) - set(claimed.ids)

    def _listen_refused(self, diagnosis):
        """The listener's sign-in was refused: the status owner decides, as for the sync's
        (a refused token is first refreshed by the health check, scheduled at once)."""
        oauth = providers.PROVIDERS[self.provider].oauth
        self._apply_diagnosis(diagnosis, change_state=not (oauth and diagnosis.kind == "revoked"))


class ListenRunner:
    """Hold the mailboxes of database ``dbname`` until :meth:`stop`: scans, advisory
    locks, and the syncs the listener's changes ask for (run in the calling thread)."""

    def __init__(self, dbname, scan_seconds=SCAN_SECONDS, leave_seconds=LEAVE_SECONDS, **listener_options):
        self.dbname = dbname
        self.registry = Registry(dbname)
        self.scan_seconds, self.leave_seconds = scan_seconds, leave_seconds
        self.events = queue.Queue()
        self.listener = Listener(
            lambda key: self.events.put(("change", key, None)),
            lambda key, diagnosis: self.events.put(("refused", key, diagnosis)),
            lambda key: self.events.put(("token", key, None)),
            **listener_options,
        )
        self.held = set()
        self.accounts = {}  # mailbox id: its account, whose lock this listener took for it
        self.retry = {}  # mailbox id: when to sync it again
        self._locks = None
        self._stopping = False

    # -- the locks' own connection -------------------------------------------------------
    def _lock_cursor(self):
        if self._locks is None or self._locks.closed:
            _db, info = sql_db.connection_info_for(self.dbname)
            self._locks = psycopg2.connect(**info)
            self._locks.autocommit = True  # session locks, never a transaction left open
        return self._locks.cursor()

    def _lost_locks(self):
        """The lock connection failed: its locks are gone, so are the mailboxes."""
        with contextlib.suppress(Exception):
            self._locks.close()
        self._locks = None
        for mailbox_id in self.held:
            self.listener.remove(mailbox_id)
        self.held.clear()
        self.accounts.clear()

    # -- scans ---------------------------------------------------------------------------
    def scan(self):
        """Take the mailboxes no listener holds, leave those that may no longer sync,
        and give the listener fresh credentials (a token refreshed, a password changed)."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            wanted = set(env["mail.mailbox"]._listen_candidates())
            self._leave(self.held - wanted)
            try:
                self._take(env["mail.mailbox"].browse(sorted(wanted - self.held)))
            except psycopg2.Error:
                _logger.warning("The listener lost its database connection: it lets its mailboxes go")
                self._lost_locks()
                return
            over = [mailbox.id for mailbox in env["mail.mailbox"].browse(sorted(self.held)) if not self._give(mailbox)]
        _logger.info(
            "Listener holds %s mailboxes (%s in IDLE, %s past their account's connections, polled)",
            len(self.held) - len(over),
            self.listener.idling(),
            len(over),
        )

    def _give(self, mailbox, refresh=False):
        """Hand ``mailbox`` to the listener with its credentials and folders (its token
        refreshed now with ``refresh``); whether the listener holds it (``False``: the
        token cannot be had, or the account's connections are all taken)."""
        server = mailbox._listen_server(refresh=refresh)
        if server is None:
            return False
        sent, sent_mark = mailbox._listen_sent()
        return self.listener.add(
            mailbox.id,
            server,
            mailbox.email or "",
            mailbox._listen_inbox_mark(),
            sent=sent,
            sent_mark=sent_mark,
            budget=account_budget(mailbox.provider),
            token_expires=mailbox._listen_token_expires(),
        )

    def look_at_held(self):
        """Leave the held mailboxes that were lost, disabled, archived or deleted."""
        if not self.held:
            return
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT id FROM mail_mailbox WHERE id = ANY(%s) AND active AND state = 'connected'", [list(self.held)]
            )
            still = {row[0] for row in cr.fetchall()}
        self._leave(self.held - still)

    def _take(self, mailboxes):
        """Lock ``mailboxes`` for this listener: each one's account first (all the mailboxes
        of one account go to the listener that holds it, so that its budget of connections
        is the account's, whatever the number of listeners; a lock taken once per mailbox),
        then the mailbox itself."""
        accounts = {
            mailbox.id: " ".join(account_of(mailbox._server("imap", password=""), mailbox.email or ""))
            for mailbox in mailboxes
        }
        if not accounts:
            return
        ids = sorted(accounts)
        with self._lock_cursor() as locks:
            locks.execute(
                "SELECT id FROM unnest(%s::int[], %s::text[]) t(id, account) "
                "WHERE pg_try_advisory_lock(%s, hashtext(account))",
                [ids, [accounts[i] for i in ids], ACCOUNT_LOCK_CLASS],
            )
            ids = sorted(row[0] for row in locks.fetchall())
            if not ids:
                return
            locks.execute("SELECT id, pg_try_advisory_lock(%s, id) FROM unnest(%s::int[]) id", [LOCK_CLASS, ids])
            taken = dict(locks.fetchall())
            lost = [accounts[i] for i, mine in taken.items() if not mine]  # another listener holds the mailbox
            if lost:
                locks.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(account)) FROM unnest(%s::text[]) account",
                    [ACCOUNT_LOCK_CLASS, lost],
                )
        for mailbox_id, mine in taken.items():
            if mine:
                self.held.add(mailbox_id)
                self.accounts[mailbox_id] = accounts[mailbox_id]

    def _leave(self, ids):
        if not ids:
            return
        for mailbox_id in ids:
            self.listener.remove(mailbox_id)
            self.retry.pop(mailbox_id, None)
        self.held -= ids
        accounts = [self.accounts.pop(mailbox_id) for mailbox_id in ids if mailbox_id in self.accounts]
        try:
            with self._lock_cursor() as locks:
                locks.execute("SELECT pg_advisory_unlock(%s, id) FROM unnest(%s::int[]) id", [LOCK_CLASS, sorted(ids)])
                locks.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(account)) FROM unnest(%s::text[]) account",
                    [ACCOUNT_LOCK_CLASS, accounts],
                )
        except psycopg2.Error:
            self._lost_locks()

    # -- what the listener said ----------------------------------------------------------
    def handle(self, events):
        """Tell the status owner of refused sign-ins, renew the tokens about to expire,
        and sync the mailboxes that changed: one round each, ``SYNC_BATCH`` together in a
        transaction (committed one batch after the other: the first ones are in Odoo
        while the next ones sync)."""
        refused = [(key, diagnosis) for kind, key, diagnosis in events if kind == "refused" and key in self.held]
        if refused:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                for key, diagnosis in refused:
                    env["mail.mailbox"].browse(key)._listen_refused(diagnosis)
        renew = sorted({key for kind, key, _d in events if kind == "token" and key in self.held})
        if renew:
            with self.registry.cursor() as cr:
                for mailbox in api.Environment(cr, SUPERUSER_ID, {})["mail.mailbox"].browse(renew):
                    try:  # one that fails is renewed by a scan (in its last 2 minutes)
                        with cr.savepoint():
                            self._give(mailbox, refresh=True)
                    except Exception:
                        _logger.exception("Listener: the token of mailbox %s could not be renewed", mailbox.id)
        changed = {key for kind, key, _d in events if kind == "change" and key in self.held}
        now = time.monotonic()
        changed = sorted(changed | {key for key, when in self.retry.items() if when <= now and key in self.held})
        for start in range(0, len(changed), SYNC_BATCH):
            batch = changed[start : start + SYNC_BATCH]
            with self.registry.cursor() as cr:
                busy = api.Environment(cr, SUPERUSER_ID, {})["mail.mailbox"].browse(batch)._listen_sync()
            for key in batch:
                self.retry.pop(key, None)
            self.retry.update(dict.fromkeys(busy, time.monotonic() + RETRY_SECONDS))

    # -- the loop ------------------------------------------------------------------------
    def run(self):
        """Run until :meth:`stop` (a signal handler may call it)."""
        self.listener.start()
        try:
            next_scan = next_look = 0
            while not self._stopping:
                now = time.monotonic()
                if now >= next_scan:
                    self._guarded(self.scan)
                    next_scan, next_look = now + self.scan_seconds, now + self.leave_seconds
                elif now >= next_look:
                    self._guarded(self.look_at_held)
                    next_look = now + self.leave_seconds
                wait = min(next_scan, next_look, *self.retry.values(), now + 1) - time.monotonic()
                events = []
                with contextlib.suppress(queue.Empty):
                    events.append(self.events.get(timeout=max(0.01, wait)))
                    while True:
                        events.append(self.events.get_nowait())
                if events or any(when <= time.monotonic() for when in self.retry.values()):
                    self._guarded(self.handle, events)
        finally:
            self.listener.stop()
            with contextlib.suppress(Exception):
                self._locks.close()

    def stop(self):
        self._stopping = True

    def _guarded(self, step, *args):
        """One step; its failure is logged, the listener goes on (and tries again)."""
        try:
            step(*args)
        except Exception:
            _logger.exception("Listener step %s failed", step.__name__)
