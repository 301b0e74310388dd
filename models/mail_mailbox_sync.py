"""The sync in Odoo: claims mailboxes, runs the engine (``mailbox_engine.sync``) for
several at once, and writes what it finds.

* **Claims** as the health check does: one ``mail.mailbox.sync`` row per mailbox,
  locked with ``FOR UPDATE SKIP LOCKED`` for the whole run (a cron run, Sync now and
  another Odoo process never sync the same mailbox at once); a run that found the row
  changed since its snapshot gives it up.
* **Network and database apart**: the engine's runs are generators stepped in worker
  threads (up to the ``sync_workers`` setting, default ``WORKERS``, mailboxes on the
  network at once: they mostly wait for the servers, so many at once); every request
  they yield is answered here, in the cron's thread and transaction. A cron round
  claims twice as many mailboxes as go on the network at once.
* **Idempotent writes**: messages are inserted ``ON CONFLICT (mailbox, Message-ID) DO
  NOTHING`` and places ``ON CONFLICT (folder, UID)``; each batch carries the folder's
  checkpoint, written with it. A run stopped anywhere resumes from the last commit.
* **Bounded rounds**: a round fetches at most a budget of messages per mailbox (by
  default one batch), then the cron commits it with the folders' checkpoints and calls
  again while work remains, with progress shown.
"""

import logging
import time
import traceback
from dataclasses import asdict
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.tools import SQL, email_normalize, email_split

from ..mailbox_engine import diagnosis as diag_lib
from ..mailbox_engine import providers
from ..mailbox_engine.oauth import OAuthError
from ..mailbox_engine.sync import run as sync_lib
from ..mailbox_engine.sync.driver import drive
from ..mailbox_engine.sync.parse import MESSAGE_ID_MAX, message_digest
from ..mailbox_engine.sync.planner import FolderState
from .mail_mailbox import PARAM, count_shown, counted

_logger = logging.getLogger(__name__)

BATCH = 10  # mailboxes per cron round at least (CLAIM_PER_WORKER per worker)
WORKERS = 64  # mailboxes on the network at once (setting sync_workers): sized for waiting on servers
CLAIM_PER_WORKER = 2  # mailboxes claimed per cron round and worker: the workers stay busy through a round
DEFAULT_BUDGET = 200  # messages fetched per mailbox and round: one batch, committed with its checkpoint
ROUND_MESSAGES = BATCH * DEFAULT_BUDGET  # at most about this many per round, shared by its mailboxes
MIN_BUDGET = 20  # ... but each mailbox of a round fetches at least this many
DEFAULT_SYNC_MINUTES = 2  # between two syncs of an up-to-date mailbox
DEFAULT_SIZE_CAP_MB = 25
RETRY_MINUTES = 1  # after a dropped connection
INBOX = "\\Inbox"  # the Inbox's role (every server has one)
SYNC_FAILURES_TO_ERROR = 3  # runs in a row that failed once signed in, before the mailbox shows an error
MAX_INT = 2**31 - 1
MESSAGE_COLUMNS = (
    "message_key",
    "message_id_header",
    "mailbox_id",
    "user_id",
    "in_reply_to",
    "references",
    "reply_to",
    "thread_key",
    "subject",
    "email_from",
    "email_to",
    "email_cc",
    "date",
    "body_text",
    "html_source",
    "size",
    "seen",
    "flagged",
    "kind",
    "problem",
    "on_server",
    "active",
    "mail_message_id",
    "mcm_feedback",
    "mcm_bounce_json",
    "mcm_auto_submitted",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
)
# what a message that Odoo could not store keeps (with its key)
BARE_COLUMNS = ("message_id_header", "date", "size", "seen", "flagged")  # the date: never a blank row


def _why(exc):
    """What refused a statement, without the statement or its values."""
    return getattr(exc, "pgcode", None) or type(exc).__name__


def _frames(exc):
    """Where ``exc`` was raised (the traceback's frames, without the exception's text)."""
    return "".join(traceback.format_tb(exc.__traceback__))


class MailMailboxSync(models.Model):
    """One row per mailbox: when it syncs next and how far its backfill is (server only)."""

    _name = "mail.mailbox.sync"
    _description = "Mailbox sync progress"
    _rec_name = "mailbox_id"

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True)
    next_sync_at = fields.Datetime(index=True)
    fetched = fields.Integer(help="Messages fetched since the backfill began.")
    remaining = fields.Integer(help="Messages of the backfill still to fetch.")
    problem = fields.Char()
    failures_in_row = fields.Integer(help="Runs in a row that failed once signed in.")
    last_run_seconds = fields.Float()
    places_changed = fields.Boolean(help="Places were added or removed since the last complete run.")
    last_sync_date = fields.Datetime()

    _sql_constraints = [("mailbox_uniq", "unique(mailbox_id)", "One sync state per mailbox.")]


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    sync_fetched = fields.Integer("Fetched", compute="_compute_sync_progress")
    sync_remaining = fields.Integer("Still to fetch", compute="_compute_sync_progress")
    sync_problem = fields.Char("Sync problem", compute="_compute_sync_progress")
    sync_progress_text = fields.Char("Sync progress", compute="_compute_sync_progress")
    synced_message_count = fields.Integer("Synced messages", compute="_compute_synced_message_count")
    log_mode = fields.Selection(
        [
            ("known", "All mail with known contacts and leads"),
            ("replies", "Only replies to mail sent from Odoo"),
            ("none", "Nothing"),
        ],
        "Log on contacts and leads",
        default="known",
        required=True,
        help="Which synced messages get a copy in the chatter of the contacts and open leads whose address they "
        "carry (a reply to mail sent from Odoo goes under it). Nobody is notified or subscribed.",
    )
    delete_in_odoo = fields.Boolean(
        "Delete in Odoo what is deleted in the mailbox",
        help="A synced message that no folder of the server has any more is deleted from Odoo, once two syncs in a "
        "row found it gone (its copies in the chatter of contacts and leads stay: they are those records' "
        "history). Turned on, this also deletes the messages already marked as gone. Off: they stay, marked as gone.",
    )
    delete_on_server = fields.Boolean(
        "Delete in the mailbox what is deleted in Odoo",
        help="Delete on a synced message also moves it to the mailbox's Trash (or deletes it where there is none). "
        "Off: it is deleted from Odoo only.",
    )
    archive_in_odoo = fields.Boolean(
        "Archive in Odoo what is archived in the mailbox",
        help="A synced message that leaves the Inbox but stays in the mailbox (moved to its Archive folder; on "
        "Gmail, its Inbox label removed) is archived in Odoo, and comes back when it returns to the Inbox.",
    )
    archive_on_server = fields.Boolean(
        "Archive in the mailbox what is archived in Odoo",
        help="Archive on a synced message also takes it out of the mailbox's Inbox (moved to its Archive folder; "
        "on Gmail, the Inbox label removed); Unarchive puts it back. Off: it is archived in Odoo only.",
    )
    log_exclude = fields.Text(
        "Never log",
        help="Addresses and domains (one per line, e.g. partner@example.com or example.com) whose mail is never "
        "logged: colleagues, private contacts.",
    )
    last_sync_date = fields.Datetime("Last sync", compute="_compute_sync_progress")
    folder_roles_given = fields.Boolean(
        "The server names folder roles",
        compute="_compute_folder_roles_given",
        help="The server says which folder is Sent, Archive, Trash… (SPECIAL-USE). Where it names none, you pick "
        "them in the Folders tab.",
    )
    deleted_message_count = fields.Integer(
        "Deleted in Odoo",
        compute="_compute_deleted_message_count",
        help="Synced messages deleted in Odoo: no sync fetches them again until you ask for them.",
    )

    def write(self, vals):
        starting = self.filtered(lambda m: not m.archive_in_odoo) if vals.get("archive_in_odoo") else self.browse()
        deleting = self.filtered(lambda m: not m.delete_in_odoo) if vals.get("delete_in_odoo") else self.browse()
        result = super().write(vals)
        if deleting:
            deleting._delete_gone()
        if vals.get("archive_in_odoo") or vals.get("archive_on_server"):
            for mailbox in self:
                mailbox._archive_folder(tick=True)
        if starting:  # not followed while off: the next complete run sees where each message is, then moves count
            self.env.cr.execute(
                SQL("UPDATE mail_mailbox_message SET in_inbox = NULL WHERE mailbox_id IN %s", tuple(starting.ids))
            )
            self.env["mail.mailbox.message"].invalidate_model(["in_inbox"])
            starting._ensure_sync_rows()
            self.env["mail.mailbox.sync"].sudo().search([("mailbox_id", "in", starting.ids)]).places_changed = True
        return result

    def _delete_gone(self):
        """*Deletions* just turned on: the messages already marked as gone are deleted in
        Odoo at once, where the last sync run was complete (after a run cut short, a
        message moved meanwhile may not be found again yet: they go at the end of the
        next complete run, which deletes what it still finds gone)."""
        Messages = self.env["mail.mailbox.message"].sudo().with_context(active_test=False)
        gone = Messages.search([("mailbox_id", "in", self.ids), ("on_server", "=", False)])
        if not gone:
            return
        gone.write({"gone_settled": True})
        unsettled = (
            self.env["mail.mailbox.sync"]
            .sudo()
            .search([("mailbox_id", "in", self.ids), ("places_changed", "=", True)])
            .mailbox_id
        )
        gone.filtered(lambda m: m.mailbox_id not in unsettled)._delete_in_odoo()

    def _archive_folder(self, tick=False):
        """Where this mailbox keeps archived mail: Gmail's All Mail, else the folder the
        server gives the Archive role, or the user picked where it names none (``tick``:
        synced from now on, so that archived mail is still seen there). Another server's
        All folder is a view of the others (a message taken out of the Inbox is gone from
        it too): never an archive."""
        self.ensure_one()
        present = self.sudo().folder_ids.filtered("present")
        role = "\\All" if self.provider == "google" else "\\Archive"
        folder = present.filtered(lambda f: f.use == role)[:1]
        if tick and folder and not folder.selected:
            folder.selected = True
        return folder

    @api.depends("folder_ids.special_use", "folder_ids.present")
    def _compute_folder_roles_given(self):
        for mailbox in self:
            mailbox.folder_roles_given = server_names_roles(mailbox.sudo().folder_ids.filtered("present"))

    def _compute_sync_progress(self):
        rows = self.env["mail.mailbox.sync"].sudo().search([("mailbox_id", "in", self.ids)])
        by_mailbox = {row.mailbox_id.id: row for row in rows}
        counts = self._synced_counts()
        for mailbox in self:
            row = by_mailbox.get(mailbox.id)
            # what the Messages button counts: the run's own tally of UIDs counted messages Odoo
            # had already (and each folder's copy), and a round that stopped early reset it
            mailbox.sync_fetched = counts.get(mailbox._origin, 0) if row and row.remaining else 0
            mailbox.sync_remaining = row.remaining if row else 0
            mailbox.sync_problem = row.problem if row else False
            mailbox.last_sync_date = row.last_sync_date if row else False
            mailbox.sync_progress_text = _(
                "%(fetched)s, %(remaining)s still to fetch (newest first).",
                fetched=counted(
                    self.env, mailbox.sync_fetched, _("%(count)s message fetched"), _("%(count)s messages fetched")
                ),
                remaining=count_shown(self.env, mailbox.sync_remaining),
            )

    def _compute_synced_message_count(self):
        counts = self._synced_counts()
        for mailbox in self:
            mailbox.synced_message_count = counts.get(mailbox._origin, 0)

    def _synced_counts(self):
        """{mailbox: synced messages} (archived ones included): the Messages button's count,
        which the progress of the past mail shows too."""
        return dict(
            self.env["mail.mailbox.message"]
            .sudo()
            .with_context(active_test=False)
            ._read_group([("mailbox_id", "in", self.ids)], ["mailbox_id"], ["__count"])
        )

    def _compute_deleted_message_count(self):
        counts = dict(
            self.env["mail.mailbox.message.deleted"]
            .sudo()
            ._read_group([("mailbox_id", "in", self.ids)], ["mailbox_id"], ["__count"])
        )
        for mailbox in self:
            mailbox.deleted_message_count = counts.get(mailbox._origin, 0)

    def _loggable_addresses(self, headers):
        """Normalized addresses of ``headers`` (From, To, Cc values) that may be logged:
        not the mailbox's own, not excluded by address or domain (or a subdomain)."""
        self.ensure_one()
        excluded = {line.strip().lower().lstrip("@") for line in (self.log_exclude or "").splitlines() if line.strip()}
        found = set()
        for header in headers:
            for address in email_split(header or ""):
                normalized = email_normalize(address)
                if not normalized or normalized == self.email_normalized:
                    continue
                domain = normalized.rsplit("@", 1)[-1]
                if normalized in excluded or any(domain == d or domain.endswith("." + d) for d in excluded):
                    continue
                found.add(normalized)
        return sorted(found)

    # ------------------------------------------------------------------ buttons
    def action_sync_now(self):
        """One round now (up to the budget); the rest goes on in the background."""
        self._check_can_act()
        if self.state != "connected":
            return self._notify(
                _("Not synced"), _("Only a connected mailbox syncs. Reconnect it or enable sync first."), "warning"
            )
        self._gate_action()
        self._ensure_sync_rows()
        claimed = self.sudo()._claim_sync(ids=self.ids, limit=1)
        if not claimed:
            return self._notify(_("A sync is already running"), _("Odoo is syncing this mailbox right now."), "info")
        more = claimed.with_context(mcm_live_toast=False)._sync_round()  # this button says it
        self.invalidate_recordset()
        if self.sync_problem:
            return self._notify(_("Sync stopped"), self.sync_problem, "warning", reload=True)
        if self.id in more:
            message = _(
                "%(fetched)s, %(remaining)s still to fetch: it goes on in the background.",
                fetched=counted(
                    self.env, self.synced_message_count, _("%(count)s message fetched"), _("%(count)s messages fetched")
                ),
                remaining=count_shown(self.env, self.sync_remaining),
            )
        else:
            message = self._up_to_date_text()
        return self._notify(_("Synced"), message, "success", reload=True)

    def _up_to_date_text(self):
        return counted(
            self.env,
            self.synced_message_count,
            self.env._("The mailbox is up to date (%(count)s message in Odoo)."),
            self.env._("The mailbox is up to date (%(count)s messages in Odoo)."),
        )

    def action_fetch_deleted_again(self):
        """Forget which messages were deleted in Odoo: the next sync fetches the window
        again, and those still on the server come back."""
        self._check_can_act()
        deleted = self.env["mail.mailbox.message.deleted"].sudo().search([("mailbox_id", "=", self.id)])
        count = len(deleted)
        deleted.unlink()
        if self.state == "connected":
            self._schedule_sync(reset=True)  # the window again: what Odoo has is matched, not fetched twice
        return self._notify(
            _("Deleted messages fetched again"),
            counted(
                self.env,
                count,
                _(
                    "%(count)s message deleted in Odoo comes back with the next sync (if still on the server, "
                    "within the last %(days)s days)."
                ),
                _(
                    "%(count)s messages deleted in Odoo come back with the next sync (those still on the server, "
                    "within the last %(days)s days)."
                ),
                days=count_shown(self.env, self.backfill_days),
            ),
            "success",
            reload=True,
        )

    def action_refresh_folders(self):
        """List the server's folders again (a folder made or removed since the connect)."""
        self._check_can_act()
        self._gate_action()
        before = len(self.folder_ids.filtered("present"))
        if not self._refresh_folders():
            return self._notify(
                _("Folders not listed"),
                _("The server did not list the folders. Click Check access to see why."),
                "warning",
            )
        self.invalidate_recordset()
        after = len(self.folder_ids.filtered("present"))
        return self._notify(
            _("Folders listed again"),
            counted(
                self.env,
                after,
                _("%(count)s folder on the server (%(before)s before)."),
                _("%(count)s folders on the server (%(before)s before)."),
                before=count_shown(self.env, before),
            ),
            "success",
            reload=True,
        )

    def action_open_synced_messages(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Messages of %(mailbox)s", mailbox=self.display_name),
            "res_model": "mail.mailbox.message",
            "view_mode": "list,form",
            "domain": [("mailbox_id", "=", self.id)],
            "context": {"create": False},
        }

    # ------------------------------------------------------------------ scheduling
    def _schedule_sync(self, reset=False):
        """Sync these mailboxes as soon as possible (``reset``: fetch the window again)."""
        self._ensure_sync_rows()
        if reset:  # the server may have renumbered its folders meanwhile: Odoo's UIDs are forgotten
            folders = self.sudo().with_context(active_test=False).folder_ids
            folders.write({"sync_state": False})
            forget_places(self.env, folders.ids)
        rows = self.env["mail.mailbox.sync"].sudo().search([("mailbox_id", "in", self.ids)])
        rows.write({"next_sync_at": fields.Datetime.now()})
        self.env.ref("mail_connected_mailbox.ir_cron_mailbox_sync")._trigger()

    def _catch_up(self, since):
        """Back after a loss: one sync round now (the rest goes on in the background),
        so that the mail that came in meanwhile is in Odoo before held mail leaves.
        Returns the messages received since ``since``; a sync that fails here changes
        nothing of the reconnect (it is said on the form, and tried again)."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._ensure_sync_rows()
                claimed = self._claim_sync(ids=self.ids, limit=1)
                if claimed:
                    claimed._sync_round()
        except Exception as exc:  # said without the exception's text (a database error quotes the values)
            _logger.warning("Catching up mailbox %s failed (%s)\n%s", self.id, _why(exc), _frames(exc))
        own = self.email_normalized
        return (
            self.env["mail.mailbox.message"]
            .sudo()
            .search([("mailbox_id", "=", self.id), ("date", ">=", since), ("kind", "!=", "odoo")], order="date")
            .filtered(lambda m: email_normalize(m.email_from or "") != own)
        )

    def _ensure_sync_rows(self):
        """A sync row for every connected mailbox that has none (cheap when all have one)."""
        query = SQL(
            "INSERT INTO mail_mailbox_sync (mailbox_id, fetched, remaining, create_uid, create_date, write_uid, "
            "write_date) SELECT m.id, 0, 0, %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC' "
            "FROM mail_mailbox m WHERE m.active AND m.state = 'connected' %(only)s "
            "AND NOT EXISTS (SELECT 1 FROM mail_mailbox_sync s WHERE s.mailbox_id = m.id) "
            "ON CONFLICT (mailbox_id) DO NOTHING",
            uid=self.env.uid,
            only=SQL("AND m.id IN %s", tuple(self.ids)) if self.ids else SQL(""),
        )
        try:
            with self.env.cr.savepoint():
                self.env.cr.execute(query)
        except psycopg2.errors.SerializationFailure:  # another process made them meanwhile
            _logger.debug("Sync rows were made by another transaction meanwhile")

    @api.model
    def _claim_sync(self, ids=None, limit=BATCH, due=None):
        """Lock and return mailboxes to sync (due ones, or ``ids``: those of them due too
        with ``due``), skipping those another transaction is syncing (``FOR UPDATE SKIP
        LOCKED`` on their sync row)."""
        now = fields.Datetime.now()
        due = ids is None if due is None else due
        only = SQL(
            "%s %s",
            SQL("AND m.id IN %s", tuple(ids) or (0,)) if ids is not None else SQL(""),
            SQL("AND (s.next_sync_at IS NULL OR s.next_sync_at <= %s)", now) if due else SQL(""),
        )
        query = SQL(
            "SELECT s.mailbox_id FROM mail_mailbox_sync s JOIN mail_mailbox m ON m.id = s.mailbox_id "
            "WHERE m.active AND m.state = 'connected' %s ORDER BY s.next_sync_at NULLS FIRST, s.id LIMIT %s "
            "FOR UPDATE OF s SKIP LOCKED",
            only,
            limit,
        )
        try:
            with self.env.cr.savepoint():
                self.env.cr.execute(query)
                ids = [row[0] for row in self.env.cr.fetchall()]
                if ids:  # their folders too: a folder ticked meanwhile waits, rather than undo the round
                    self.env.cr.execute(
                        SQL("SELECT id FROM mail_mailbox_folder WHERE mailbox_id IN %s FOR NO KEY UPDATE", tuple(ids))
                    )
                return self.browse(ids)
        except psycopg2.errors.SerializationFailure:  # synced or changed by another transaction meanwhile
            return self.browse()

    @api.model
    def _count_sync_due(self):
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM mail_mailbox_sync s JOIN mail_mailbox m ON m.id = s.mailbox_id "
                "WHERE m.active AND m.state = 'connected' AND (s.next_sync_at IS NULL OR s.next_sync_at <= %s)",
                fields.Datetime.now(),
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _cron_sync(self):
        """Sync due mailboxes, a bounded round each, with progress (the cron calls again
        while some remain)."""
        self._ensure_sync_rows()
        mailboxes = self._claim_sync(limit=max(BATCH, CLAIM_PER_WORKER * self._sync_settings()["workers"]))
        more = mailboxes._sync_round() if mailboxes else set()
        remaining = self._count_sync_due() if mailboxes else 0
        self.env["ir.cron"]._notify_progress(done=len(mailboxes), remaining=remaining)
        if more:  # past the cron's rounds per run, it comes back at once rather than at its next poll
            self.env.ref("mail_connected_mailbox.ir_cron_mailbox_sync")._trigger()

    # ------------------------------------------------------------------ one round
    def _sync_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        return {
            "budget": int(params.get_param(PARAM + "sync_budget") or DEFAULT_BUDGET),
            "minutes": max(1, int(params.get_param(PARAM + "sync_minutes") or DEFAULT_SYNC_MINUTES)),
            "size_cap": int(float(params.get_param(PARAM + "max_message_mb") or DEFAULT_SIZE_CAP_MB) * 1024 * 1024),
            "workers": max(1, int(params.get_param(PARAM + "sync_workers") or WORKERS)),
            # "0": one command at a time, for a server that mishandles commands sent together
            "pipelined": params.get_param(PARAM + "sync_pipelining") != "0",
        }

    def _sync_round(self):
        """Sync these (claimed) mailboxes: up to the budget each, several at once; return
        the ids of those with more to fetch."""
        settings = self._sync_settings()
        # many mailboxes claimed together (polls) share a round's messages: a backfill wave
        # keeps rounds (and their transactions) as small as with a few mailboxes
        budget = max(min(settings["budget"], MIN_BUDGET), min(settings["budget"], ROUND_MESSAGES // max(1, len(self))))
        writer = SyncWriter(self.env, self)
        runs = {}
        for mailbox in self:
            folders = mailbox.sudo().folder_ids.filtered(lambda f: f.selected and f.present)
            if not folders:
                writer.ended(mailbox.id, problem=_("No folder is chosen for sync: tick some in the Folders tab."))
                continue
            try:
                token = mailbox._get_access_token() if providers.PROVIDERS[mailbox.provider].oauth else None
                server = mailbox._server("imap", token)
            except OAuthError as exc:  # the health check's status owner takes it from here
                mailbox._apply_diagnosis(exc.diagnosis)
                writer.ended(mailbox.id, problem=str(exc.diagnosis.render()[0]))
                continue
            runs[mailbox.id] = sync_lib.sync_mailbox(
                server,
                mailbox.email,
                [sync_lib.Folder(f.id, f.path, f._folder_state()) for f in folders],
                time.time(),
                backfill_days=mailbox.backfill_days,
                size_cap=settings["size_cap"],
                budget=budget,
                pipelined=settings["pipelined"],
            )
        drive(runs, writer.handle, workers=settings["workers"], failed=writer.failed)
        return writer.finish(settings["minutes"])


class SyncWriter:
    """Answers the engine's requests in the cron's transaction (one per mailbox run)."""

    def __init__(self, env, mailboxes):
        self.env = env
        self.cr = env.cr
        self.mailboxes = {m.id: m for m in mailboxes}
        self.started = time.monotonic()
        self.more, self.problems, self.fetched, self.remaining = {}, {}, {}, {}
        self.folders = {f.id: f for f in mailboxes.sudo().with_context(active_test=False).folder_ids}
        self.inserted = []  # ids of the messages this batch stored
        self.failing = {}  # mailbox id -> diagnosis: the run failed once signed in
        self.changed = set()  # mailboxes whose places were added or removed
        self.unchanged = []  # folders synced with nothing new: their sync date, in one write at the end

    # -- the requests
    def handle(self, mailbox_id, request):
        """Answer one request; a database error undoes that request only and stops that
        mailbox's run (the others go on; what it stored before stays)."""
        method = getattr(self, "on_" + type(request).__name__.lower())
        with self.cr.savepoint():
            return method(mailbox_id, request)

    def on_lookup(self, mailbox_id, request):
        if not request.keys:
            return set()
        digests = {key: message_digest(key) for key in request.keys}
        # a draft kept in Odoo (also in the server's Drafts) is Odoo's: never a synced row
        self.cr.execute(
            SQL(
                "SELECT message_key FROM mail_mailbox_message WHERE mailbox_id = %s AND message_key = ANY(%s) "
                "UNION SELECT message_key FROM mail_mailbox_draft WHERE mailbox_id = %s AND message_key = ANY(%s)",
                mailbox_id,
                list(set(digests.values())),
                mailbox_id,
                list(set(digests.values())),
            )
        )
        stored = {row[0] for row in self.cr.fetchall()} | self._deleted(mailbox_id, list(set(digests.values())))
        known = {key for key, digest in digests.items() if digest in stored}  # deleted in Odoo: not fetched again
        # sent from Odoo by the owner: already in Odoo, its Sent copy is not fetched again
        return known | set(self._sent_from_odoo(mailbox_id, request.keys))

    def _sent_from_odoo(self, mailbox_id, keys):
        """{Message-ID: mail.message id} of ``keys`` that the mailbox's owner sent from
        Odoo (not mail Odoo received: a reply that came in through Odoo's own gateway is
        still the owner's mail to fetch)."""
        self.cr.execute(
            SQL(
                "SELECT message_id, min(id) FROM mail_message WHERE message_id = ANY(%s) AND author_id = %s "
                "AND message_type != 'email' GROUP BY message_id",
                keys,
                self.mailboxes[mailbox_id].user_id.partner_id.id,
            )
        )
        return dict(self.cr.fetchall())

    def on_batch(self, mailbox_id, request):
        mailbox = self.mailboxes[mailbox_id]
        ids = self._insert_messages(mailbox, request.items, request.known)
        places = [(ids[item.key], item.uid, item.flags) for item in request.items if item.key in ids]
        places += [(ids[key], uid, flags) for uid, flags, key in request.known if key in ids]
        self._upsert_places(mailbox_id, request.folder_id, places)
        self._attachments(request.items, ids)
        if self.inserted:
            inserted = self.env["mail.mailbox.message"].sudo().browse(self.inserted)
            inserted._mcm_apply_feedback()  # bounces and campaign replies, once: on insert only
            inserted._log_on_records()  # logged on contacts and leads as they come in
            self.inserted = []
        self._save_state(request.folder_id, request.state)
        self.fetched[mailbox_id] = self.fetched.get(mailbox_id, 0) + request.fetched
        self.remaining.setdefault(mailbox_id, {})[request.folder_id] = request.remaining

    def on_flags(self, mailbox_id, request):
        if request.flags:
            values = SQL(", ").join(SQL("(%s, %s)", uid, " ".join(flags)) for uid, flags in request.flags.items())
            self.cr.execute(
                SQL(
                    "UPDATE mail_mailbox_message_place p SET flags = v.flags FROM (VALUES %s) AS v(uid, flags) "
                    "WHERE p.folder_id = %s AND p.uid = v.uid AND p.flags IS DISTINCT FROM v.flags "
                    "RETURNING p.message_id",
                    values,
                    request.folder_id,
                )
            )
            self._refresh_marks([row[0] for row in self.cr.fetchall()])
        self._save_state(request.folder_id, request.state)

    def on_present(self, mailbox_id, request):
        self.cr.execute(
            SQL(
                "DELETE FROM mail_mailbox_message_place WHERE folder_id = %s AND uid < %s AND NOT (uid = ANY(%s)) "
                "RETURNING message_id",
                request.folder_id,
                request.below,
                list(request.uids),
            )
        )
        left = [row[0] for row in self.cr.fetchall()]
        if left:
            self.changed.add(mailbox_id)
            self._gone(left)
        # and those a renumbered folder did not give back, once every backfill of the mailbox
        # is over (only within the window: older ones are not looked for again)
        mailbox = self.mailboxes[mailbox_id]
        folders = mailbox.sudo().folder_ids.filtered(lambda f: f.selected and f.present)
        if not any(f._folder_state().backfill_below for f in folders):
            self.cr.execute(
                SQL(
                    "UPDATE mail_mailbox_message m SET on_server = false WHERE m.mailbox_id = %s AND m.on_server "
                    "AND m.awaiting_place IS NOT TRUE AND m.date >= %s "
                    "AND NOT EXISTS (SELECT 1 FROM mail_mailbox_message_place p "
                    "WHERE p.message_id = m.id) RETURNING m.id",
                    mailbox_id,
                    fields.Datetime.now() - timedelta(days=mailbox.backfill_days),
                )
            )
            if self.cr.rowcount:
                self.changed.add(mailbox_id)
            self.env["mail.mailbox.message"].invalidate_model(["on_server"])
        self._save_state(request.folder_id, request.state)

    def on_remapped(self, mailbox_id, request):
        # Odoo's UIDs of this folder mean nothing now: the backfill that follows finds
        # the messages again by Message-ID (the messages themselves stay)
        forget_places(self.env, [request.folder_id])
        self.changed.add(mailbox_id)
        self._save_state(request.folder_id, request.state)

    def on_folderdone(self, mailbox_id, request):
        self._save_state(request.folder_id, request.state, done=not request.more)
        if request.more:
            self.more[mailbox_id] = True

    def on_foldergone(self, mailbox_id, request):
        self.folders[request.folder_id].sudo().write({"sync_problem": request.reason})

    def on_foldertrouble(self, mailbox_id, request):
        # one folder's unexpected answer: said on that folder; its checkpoint stays where the
        # last batch left it, the mailbox's other folders and its status go on
        self.folders[request.folder_id].sudo().write({"sync_problem": request.reason})

    # -- failures of a run
    def failed(self, mailbox_id, exc):
        mailbox = self.mailboxes[mailbox_id]
        if isinstance(exc, sync_lib.SyncFailedError):
            cause, fix = mailbox._render_diagnosis(exc.diagnosis)
            if not exc.signed_in:
                # the status owner decides: a refused password is a loss at once; a refused
                # token is first refreshed by the health check (scheduled at once), which
                # then tells a revoked access from a token that had just expired
                oauth = providers.PROVIDERS[mailbox.provider].oauth
                mailbox._apply_diagnosis(exc.diagnosis, change_state=not (oauth and exc.diagnosis.kind == "revoked"))
            else:  # signed in, then the server failed: counted, as a run that keeps failing shows
                self.failing[mailbox_id] = exc.diagnosis
            self.ended(mailbox_id, problem=f"{cause} {fix}".strip(), retry=True)
        else:
            # the traceback without the exception's text (a database error quotes the values)
            _logger.error("Sync of mailbox %s stopped (%s)\n%s", mailbox_id, _why(exc), _frames(exc))
            detail = _why(exc)
            self.failing[mailbox_id] = diag_lib.diagnose("sync_failing", address=mailbox.email, error=detail)
            text = self.env._("The sync stopped on an unexpected error: %(error)s", error=detail)
            self.ended(mailbox_id, problem=text)

    def ended(self, mailbox_id, problem, retry=False):
        self.problems[mailbox_id] = (problem, retry)

    # -- at the end of the round
    def finish(self, minutes):
        """Write each mailbox's next sync and progress; return the ids with more to do."""
        now = fields.Datetime.now()
        more_ids, settled, caught_up, shown = set(), [], [], set()
        seconds = time.monotonic() - self.started
        if self.unchanged:
            self.env["mail.mailbox.folder"].sudo().browse(self.unchanged).write({"last_sync_date": now})
        rows = self.env["mail.mailbox.sync"].sudo().search([("mailbox_id", "in", list(self.mailboxes))])
        for row in rows:
            mailbox_id = row.mailbox_id.id
            problem, retry = self.problems.get(mailbox_id, (False, False))
            more = self.more.get(mailbox_id, False) and not problem
            # the past mail is in: after a backfill of several rounds, or the first sync's
            if (row.remaining or (not row.last_sync_date and self.fetched.get(mailbox_id))) and not (more or problem):
                caught_up.append(mailbox_id)
            if self.fetched.get(mailbox_id) or row.remaining or (problem or False) != (row.problem or False):
                shown.add(mailbox_id)  # what the form shows changed (not a round that found nothing new)
            if more:
                next_at = now
                more_ids.add(mailbox_id)
            elif retry:
                next_at = now + timedelta(minutes=RETRY_MINUTES)
            else:
                next_at = now + timedelta(minutes=minutes)
            fetched = row.fetched + self.fetched.get(mailbox_id, 0)
            remaining = sum(self.remaining.get(mailbox_id, {}).values())
            values = {
                "next_sync_at": next_at,
                "problem": problem,
                "fetched": fetched if more else 0,
                "remaining": remaining if more else 0,
                "last_run_seconds": seconds,
            }
            if not problem:  # on the locked row: a write of the mailbox's would race the health check
                values["last_sync_date"] = now
            row.write(values)
            self._count_failure(row, self.failing.get(mailbox_id), problem)
            if mailbox_id in self.changed or row.places_changed:
                complete = not (more or problem)
                if complete:
                    settled.append(mailbox_id)
                row.places_changed = not complete
        try:
            with self.cr.savepoint():
                again = self._settle(settled)
        except psycopg2.errors.SerializationFailure:  # a user changed one of those messages meanwhile
            _logger.info("Settling mailboxes %s waits for their next run", settled)
            again = set(settled)
        if again:
            rows.filtered(lambda r: r.mailbox_id.id in again).places_changed = True
        self._tell_live(rows.mailbox_id.filtered(lambda m: m.id in shown), caught_up)
        return more_ids

    def _tell_live(self, mailboxes, caught_up):
        """The owners' open views show this round (sent when it is committed); a backfill
        just over is said in a toast, wherever the owner is in Odoo."""
        for mailbox in mailboxes:
            mailbox._send_live_changed()
            if mailbox.id in caught_up and self.env.context.get("mcm_live_toast", True):
                owner = mailbox.with_context(lang=mailbox.user_id.lang)
                owner.invalidate_recordset(["synced_message_count"])
                owner._send_live_toast(
                    owner.env._("%(mailbox)s: past mail fetched", mailbox=mailbox.email), owner._up_to_date_text()
                )

    def _count_failure(self, row, diagnosis, problem):
        """A run that failed once signed in counts; a run without a problem starts again
        from zero; so many failures in a row turn the mailbox to Error, with the cause
        (through the status owner; the health check brings it back once it works)."""
        if diagnosis is None:
            if not problem and row.failures_in_row:
                row.failures_in_row = 0
            return
        row.failures_in_row += 1
        mailbox = row.mailbox_id
        if row.failures_in_row >= SYNC_FAILURES_TO_ERROR and mailbox.state == "connected":
            if diagnosis.state != diag_lib.ERROR:  # e.g. a dropped connection, each time
                diagnosis = diag_lib.diagnose(
                    "sync_failing", address=mailbox.email, error=diagnosis.render(self.env._)[0][:200]
                )
            mailbox._set_state("error", diagnosis)

    # -- writing
    def _insert_messages(self, mailbox, items, known):
        """Insert the new messages (a conflict: stored already; deleted in Odoo: kept out);
        return Message-ID -> id for all of them that Odoo stores."""
        digests = {key: message_digest(key) for key in [item.key for item in items] + [k for _u, _f, k in known]}
        if not digests:
            return {}
        deleted = self._deleted(mailbox.id, list(digests.values()))
        odoo_ids = {}
        if known:  # known to Odoo as mail sent from Odoo, not yet as a message of this mailbox
            odoo_ids = self._sent_from_odoo(mailbox.id, [key for _uid, _flags, key in known])
        rows, seen = [], set(deleted)
        for item in items:
            if digests[item.key] not in seen:
                seen.add(digests[item.key])
                rows.append(self._message_row(mailbox, item, digests[item.key]))
        # mail sent from Odoo is Odoo's own: its row takes Odoo's date, sender, subject...
        odoo_values = self.env["mail.mailbox.message"]._values_from_odoo(list(odoo_ids.values())) if odoo_ids else {}
        for _item_uid, flags, key in known:
            if key in odoo_ids and digests[key] not in seen:
                seen.add(digests[key])
                values = odoo_values.get(odoo_ids[key], {})
                rows.append(self._odoo_row(mailbox, key, digests[key], flags, odoo_ids[key], **values))
        if rows:
            self._insert_rows(mailbox, rows)
        self.cr.execute(
            SQL(
                "SELECT message_key, id FROM mail_mailbox_message WHERE mailbox_id = %s AND message_key = ANY(%s)",
                mailbox.id,
                list(set(digests.values())),
            )
        )
        by_digest = dict(self.cr.fetchall())
        return {key: by_digest[digest] for key, digest in digests.items() if digest in by_digest}

    def _deleted(self, mailbox_id, digests):
        """Which of ``digests`` were deleted in Odoo (kept out until asked for again)."""
        self.cr.execute(
            SQL(
                "SELECT message_key FROM mail_mailbox_message_deleted WHERE mailbox_id = %s AND message_key = ANY(%s)",
                mailbox_id,
                digests,
            )
        )
        return {row[0] for row in self.cr.fetchall()}

    def _row(self, mailbox, digest, message_id, **values):
        """The values of one new row, every one of a size and kind the table takes (a
        fixed-size key, a Message-ID capped, a size within an integer)."""
        now = fields.Datetime.now()
        row = dict.fromkeys(MESSAGE_COLUMNS)
        row.update(
            message_key=digest,
            message_id_header=(message_id or "")[:MESSAGE_ID_MAX] or None,
            mailbox_id=mailbox.id,
            user_id=mailbox.user_id.id or None,
            size=0,
            seen=False,
            flagged=False,
            kind="stored",
            on_server=True,
            active=True,
            create_uid=self.env.uid,
            create_date=now,
            write_uid=self.env.uid,
            write_date=now,
        )
        row.update(values)
        row["size"] = min(max(int(row["size"] or 0), 0), MAX_INT)
        return row

    def _message_row(self, mailbox, item, digest):
        parsed = item.parsed
        values = self.env["mail.mailbox.message"]._values_from(parsed) if parsed else {}
        problems = ([item.reason] if item.reason else []) + (parsed.problems if parsed else [])
        return self._row(
            mailbox,
            digest,
            item.key,
            **{name: value or None for name, value in values.items()},
            size=item.size,
            seen="\\Seen" in item.flags,
            flagged="\\Flagged" in item.flags,
            kind="placeholder" if item.headers_only or not parsed else "stored",
            problem="; ".join(problems) or None,
        )

    def _odoo_row(self, mailbox, key, digest, flags, mail_message_id, **values):
        return self._row(
            mailbox,
            digest,
            key,
            **{name: value or None for name, value in values.items()},
            thread_key=digest,
            seen="\\Seen" in flags,
            flagged="\\Flagged" in flags,
            kind="odoo",
            mail_message_id=mail_message_id,
        )

    def _insert_rows(self, mailbox, rows):
        """Insert ``rows`` in one statement; should one of them be refused all the same,
        each on its own, and a row still refused becomes a placeholder that says so (the
        message stays on the server): the rest of the batch and its checkpoint go on.
        Neither the statement nor the log ever show the message's content."""
        try:
            with self.cr.savepoint():
                self._insert(rows)
            return
        except (psycopg2.Error, ValueError) as exc:
            _logger.warning(
                "Mailbox %s: a batch of messages was refused (%s), stored one by one", mailbox.id, _why(exc)
            )
        for row in rows:
            try:
                with self.cr.savepoint():
                    self._insert([row])
            except (psycopg2.Error, ValueError) as exc:
                _logger.warning(
                    "Mailbox %s: a message could not be stored (%s), kept as a placeholder", mailbox.id, _why(exc)
                )
                bare = {name: row[name] for name in BARE_COLUMNS}
                problem = self.env._(
                    "Odoo could not store this message (%(error)s): it stays on the server.", error=_why(exc)
                )
                self._insert(
                    [self._row(mailbox, row["message_key"], None, **bare, kind="placeholder", problem=problem)]
                )

    def _insert(self, rows):
        values = SQL(", ").join(
            SQL("(%s)", SQL(", ").join(SQL("%s", row[name]) for name in MESSAGE_COLUMNS)) for row in rows
        )
        self.cr.execute(
            SQL(
                "INSERT INTO mail_mailbox_message (%s) VALUES %s ON CONFLICT (mailbox_id, message_key) DO NOTHING "
                "RETURNING id",
                SQL(", ").join(SQL.identifier(name) for name in MESSAGE_COLUMNS),
                values,
            ),
            # the statement carries message content: refused, it is said without it (above)
            log_exceptions=False,
        )
        self.inserted += [row[0] for row in self.cr.fetchall()]

    def _upsert_places(self, mailbox_id, folder_id, places):
        if not places:
            return
        self.changed.add(mailbox_id)
        uid = self.env.uid
        now = fields.Datetime.now()
        values = SQL(", ").join(
            SQL("(%s, %s, %s, %s, %s, %s, %s, %s)", mid, folder_id, item_uid, " ".join(flags), uid, now, uid, now)
            for mid, item_uid, flags in places
        )
        self.cr.execute(
            SQL(
                "INSERT INTO mail_mailbox_message_place (message_id, folder_id, uid, flags, create_uid, create_date, "
                "write_uid, write_date) VALUES %s ON CONFLICT (folder_id, uid) DO UPDATE SET "
                "message_id = EXCLUDED.message_id, flags = EXCLUDED.flags",
                values,
            )
        )
        # a message seen again somewhere is on the server
        self.cr.execute(
            SQL(
                "UPDATE mail_mailbox_message SET on_server = true, gone_settled = false, awaiting_place = false "
                "WHERE id = ANY(%s) AND (NOT on_server OR gone_settled OR awaiting_place)",
                [message_id for message_id, _uid, _flags in places],
            )
        )
        self.env["mail.mailbox.message"].invalidate_model(["on_server", "gone_settled", "awaiting_place"])
        # read / starred follow the places, whether new or found again (a backfill, Enable,
        # a renumbered folder): Odoo then says what the server says
        self._refresh_marks([message_id for message_id, _uid, _flags in places])

    def _attachments(self, items, ids):
        Messages = self.env["mail.mailbox.message"].sudo()
        for item in items:
            if item.parsed and item.parsed.attachments and item.key in ids:
                message = Messages.browse(ids[item.key])
                if (
                    not self.env["ir.attachment"]
                    .sudo()
                    .search_count([("res_model", "=", Messages._name), ("res_id", "=", message.id)], limit=1)
                ):
                    message._store_attachments(item.parsed.attachments)

    def _refresh_marks(self, message_ids):
        """Read / starred on the message from its places' flags: read where a folder has
        it read, starred where a folder has it starred (only the rows that change)."""
        if message_ids:
            self.cr.execute(
                SQL(
                    "WITH marks AS (SELECT m.id, "
                    "EXISTS (SELECT 1 FROM mail_mailbox_message_place p WHERE p.message_id = m.id "
                    "AND p.flags LIKE %s) AS seen, "
                    "EXISTS (SELECT 1 FROM mail_mailbox_message_place p WHERE p.message_id = m.id "
                    "AND p.flags LIKE %s) AS flagged FROM mail_mailbox_message m WHERE m.id = ANY(%s)) "
                    "UPDATE mail_mailbox_message m SET seen = marks.seen, flagged = marks.flagged FROM marks "
                    "WHERE m.id = marks.id AND (m.seen IS DISTINCT FROM marks.seen "
                    "OR m.flagged IS DISTINCT FROM marks.flagged)",
                    "%\\\\Seen%",
                    "%\\\\Flagged%",
                    list(set(message_ids)),
                )
            )
            self.env["mail.mailbox.message"].invalidate_model(["seen", "flagged"])

    def _gone(self, message_ids):
        """Messages no folder of the server has any more (seen again somewhere later in
        the run, they are back: what is gone is decided at the end, by :meth:`_settle`)."""
        self.cr.execute(
            SQL(
                "UPDATE mail_mailbox_message m SET on_server = false WHERE m.id = ANY(%s) "
                "AND m.awaiting_place IS NOT TRUE AND NOT EXISTS "
                "(SELECT 1 FROM mail_mailbox_message_place p WHERE p.message_id = m.id)",
                list(set(message_ids)),
            )
        )
        self.env["mail.mailbox.message"].invalidate_model(["on_server"])

    def _settle(self, mailbox_ids):
        """After a complete run that added or removed places (so a message moved between
        two folders is seen in both, whichever was looked at first): what left the Inbox
        and stayed in the mailbox is archived in Odoo, what came back is restored, what
        no folder has is deleted (found gone by two complete runs in a row), each where
        the mailbox asks for it; returns the mailboxes to settle again. Whether a message
        is in the Inbox is followed only where archive goes to Odoo (one query over the
        mailbox's messages); turning that on starts from what the next complete run sees."""
        Messages = self.env["mail.mailbox.message"].sudo().with_context(active_test=False)
        asks = [m.id for m in self.mailboxes.values() if m.id in mailbox_ids and m.archive_in_odoo]
        moved = []
        if asks:
            self.cr.execute(
                SQL(
                    "WITH inbox AS (SELECT DISTINCT p.message_id FROM mail_mailbox_message_place p "
                    "JOIN mail_mailbox_folder f ON f.id = p.folder_id WHERE f.mailbox_id = ANY(%(ids)s) "
                    "AND f.use = %(inbox)s), "
                    "seen AS (SELECT m.id, m.in_inbox AS was, i.message_id IS NOT NULL AS is_in "
                    "FROM mail_mailbox_message m LEFT JOIN inbox i ON i.message_id = m.id "
                    "WHERE m.mailbox_id = ANY(%(ids)s)) "
                    "UPDATE mail_mailbox_message m SET in_inbox = seen.is_in FROM seen "
                    "WHERE m.id = seen.id AND m.in_inbox IS DISTINCT FROM seen.is_in "
                    "RETURNING m.id, m.mailbox_id, seen.was, seen.is_in",
                    ids=asks,
                    inbox=INBOX,
                )
            )
            moved = self.cr.fetchall()
            Messages.invalidate_model(["in_inbox"])
        left = [mid for mid, _mailbox_id, was, is_in in moved if was and not is_in]
        back = [mid for mid, _mailbox_id, was, is_in in moved if was is False and is_in]
        if left:  # archived only when still in the mailbox, outside its Trash and Spam
            self.cr.execute(
                SQL(
                    "UPDATE mail_mailbox_message m SET active = false WHERE m.id = ANY(%s) AND m.active AND EXISTS "
                    "(SELECT 1 FROM mail_mailbox_message_place p JOIN mail_mailbox_folder f ON f.id = p.folder_id "
                    "WHERE p.message_id = m.id AND coalesce(f.use, '') NOT IN %s)",
                    left,
                    ("\\Trash", "\\Junk"),
                )
            )
        if back:
            self.cr.execute(SQL("UPDATE mail_mailbox_message SET active = true WHERE id = ANY(%s)", back))
        Messages.invalidate_model(["active"])
        # deleted in two steps: gone at two complete runs in a row (a message moved while a
        # run was under way, or into a folder that could not be opened, is found again first)
        deleting = [m.id for m in self.mailboxes.values() if m.id in mailbox_ids and m.delete_in_odoo]
        if not deleting:
            return set()
        Messages.search(
            [("mailbox_id", "in", deleting), ("on_server", "=", False), ("gone_settled", "=", True)]
        )._delete_in_odoo()
        self.cr.execute(
            SQL(
                "UPDATE mail_mailbox_message SET gone_settled = true WHERE mailbox_id = ANY(%s) AND NOT on_server "
                "AND gone_settled IS NOT TRUE RETURNING mailbox_id",
                deleting,
            )
        )
        Messages.invalidate_model(["gone_settled"])
        return {row[0] for row in self.cr.fetchall()}  # to settle again at the next complete run

    def _save_state(self, folder_id, state, done=False):
        folder = self.folders[folder_id]
        if done and folder.sync_state == asdict(state) and not folder.sync_problem:
            self.unchanged.append(folder_id)  # a poll with nothing new: only its date, with the others'
            return
        values = {"sync_state": asdict(state)}
        if done:
            values.update(last_sync_date=fields.Datetime.now(), sync_problem=False)
        self.folders[folder_id].sudo().write(values)
        self.env["mail.mailbox.message.place"].invalidate_model()


def forget_places(env, folder_ids):
    """Forget Odoo's UIDs of these folders (renumbered, or sync off for a while): the
    sync finds the messages again by Message-ID; whether they are in the Inbox is
    unknown until then, so that no message counts as moved meanwhile."""
    if folder_ids:
        env.cr.execute(
            SQL(
                "WITH forgotten AS (DELETE FROM mail_mailbox_message_place WHERE folder_id = ANY(%s) "
                "RETURNING message_id) UPDATE mail_mailbox_message SET in_inbox = NULL "
                "WHERE id IN (SELECT message_id FROM forgotten)",
                list(folder_ids),
            )
        )
        env["mail.mailbox.message.place"].invalidate_model()
        env["mail.mailbox.message"].invalidate_model(["in_inbox"])


def server_names_roles(folders):
    """Whether the server gave any of ``folders`` a role (SPECIAL-USE; the Inbox is
    every server's, by its name)."""
    return any(f.special_use and f.special_use != INBOX for f in folders)


def folder_state(values):
    """A :class:`FolderState` from what a folder saved (nothing: never synced)."""
    if not values:
        return FolderState()
    known = FolderState.__dataclass_fields__
    return FolderState(**{key: value for key, value in values.items() if key in known})
