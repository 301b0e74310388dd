"""More machines: OCA ``queue_job``, when a database has it installed (the addon does
not require it; without it the crons work as they always did).

With it, the sync and health crons only enqueue: the work is done by jobs on the channel
``root.mailbox`` (its capacity, in the job runner's ``channels`` setting, is how many run
at once across every Odoo process the runner sends jobs to), so any number of Odoo
processes and hosts share it.

* **A job is one bounded unit, and passes the rest on.** A job claims one round of due
  mailboxes (as a cron round does, ``FOR UPDATE SKIP LOCKED``), and when due mailboxes
  are left that no transaction holds it enqueues the next job at once, in a transaction
  of its own, so that another process takes the next round while this one works; then
  it syncs (or checks) its round, which commits with the job. ``queue_job`` refuses a
  commit inside a job (it would restart the job): nothing here commits in the job's
  transaction.
* **Never queued twice.** Each kind of job has one identity key (``…sync``,
  ``…health``; a mailbox's own sync, ``…sync.<id>``): while one waits, enqueuing it again
  adds nothing. The claims stay the guarantee against double work: a job retried, or
  run beside a cron of an Odoo without jobs, skips what another transaction holds and
  what is no longer due.
* A mailbox a check's job finds working again releases its held mail in a job of its
  own (``…release.<id>``): the sync of what came in meanwhile, then the release.
* The result of each job names the mailboxes it synced or checked (``synced: 3,4,5``).
"""

import logging

import psycopg2

from odoo import api, models
from odoo.tools import SQL

from .mail_mailbox import PARAM
from .mail_mailbox_health import CHECKED_STATES
from .mail_mailbox_send import RESUMED
from .mail_mailbox_sync import BATCH, CLAIM_PER_WORKER

_logger = logging.getLogger(__name__)

JOB_CHANNEL = "root.mailbox"
IDENTITY = "mail_connected_mailbox."
# a due mailbox that no transaction holds (the claims' conditions)
SYNC_LEFT = SQL(
    "SELECT s.id FROM mail_mailbox_sync s JOIN mail_mailbox m ON m.id = s.mailbox_id "
    "WHERE m.active AND m.state = 'connected' "
    "AND (s.next_sync_at IS NULL OR s.next_sync_at <= now() at time zone 'UTC') "
    "LIMIT 1 FOR UPDATE OF s SKIP LOCKED"
)
HEALTH_LEFT = SQL(
    "SELECT id FROM mail_mailbox WHERE active AND state IN %s "
    "AND (next_check_at IS NULL OR next_check_at <= now() at time zone 'UTC') LIMIT 1 FOR UPDATE SKIP LOCKED",
    CHECKED_STATES,
)


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    @api.model
    def _mcm_jobs(self):
        """Whether the crons hand their work to ``queue_job``: it is installed in this
        database, and the system parameter ``mail_connected_mailbox.use_queue_job`` is not
        ``0``."""
        return "queue.job" in self.env and (
            self.env["ir.config_parameter"].sudo().get_param(PARAM + "use_queue_job") != "0"
        )

    def _mcm_delay(self, kind, description, env=None):
        """``with_delay`` on the job channel with the identity key of ``kind``; in ``env``
        (another transaction) when given."""
        records = self.with_env(env) if env is not None else self
        return records.sudo().with_delay(channel=JOB_CHANNEL, identity_key=IDENTITY + kind, description=description)

    def _mcm_pass_on(self, kind, description, method, left_query):
        """Enqueue the next job of ``kind`` when a due mailbox is left that no transaction
        holds (``left_query``), in a transaction of its own, committed now: it starts while
        this job still works. Looked at afresh: this job's snapshot may be older than what
        other jobs committed since (its claim then found nothing, on a serialization
        failure, while mailboxes are still due)."""
        with self.env.registry.cursor() as cr:
            try:
                with cr.savepoint(flush=False):
                    cr.execute(left_query)
                    left = bool(cr.fetchall())
            except psycopg2.errors.SerializationFailure:
                left = True
            if left:
                getattr(self.browse()._mcm_delay(kind, description, env=self.env(cr=cr)), method)()

    # ------------------------------------------------------------------ sync
    @api.model
    def _cron_sync(self):
        if not self._mcm_jobs():
            return super()._cron_sync()
        self._ensure_sync_rows()
        if self._count_sync_due():
            self.browse()._mcm_delay("sync", "Sync due mailboxes")._job_sync()
        return None

    @api.model
    def _job_sync(self):
        """One sync round of due mailboxes (a job); the next round is passed on at once
        when more are due, and enqueued again at the end for mailboxes with more to fetch."""
        self._ensure_sync_rows()
        mailboxes = self._claim_sync(limit=max(BATCH, CLAIM_PER_WORKER * self._sync_settings()["workers"]))
        self._mcm_pass_on("sync", "Sync due mailboxes", "_job_sync", SYNC_LEFT)
        if not mailboxes:
            return "synced: "
        if mailboxes._sync_round():  # more to fetch: due again now, synced by the next job
            self.browse()._mcm_delay("sync", "Sync due mailboxes")._job_sync()
        return "synced: " + ",".join(str(i) for i in mailboxes.ids)

    def _schedule_sync(self, reset=False):
        result = super()._schedule_sync(reset=reset)
        if self._mcm_jobs():
            for mailbox in self:
                mailbox._mcm_delay(f"sync.{mailbox.id}", f"Sync {mailbox.email}")._job_sync_mailbox()
        return result

    def _job_sync_mailbox(self):
        """One sync round of this mailbox, if it is still due (a job); enqueued again
        while it has more to fetch."""
        claimed = self._claim_sync(ids=self.ids, limit=1, due=True)
        if claimed and claimed._sync_round():
            self._mcm_delay(f"sync.{self.id}", f"Sync {self.email}")._job_sync_mailbox()
        return "synced: " + ",".join(str(i) for i in claimed.ids)

    # ------------------------------------------------------------------ health
    @api.model
    def _cron_check_health(self):
        if not self._mcm_jobs():
            return super()._cron_check_health()
        self._remind_lost()
        if self._count_due():
            self.browse()._mcm_delay("health", "Check the access of due mailboxes")._job_check_health()
        return None

    @api.model
    def _job_check_health(self):
        """One round of the scheduled check (a job; a round, not a mailbox: an outage of a
        provider is told apart from each mailbox's own failure within a round); the next
        round is passed on at once when more are due."""
        mailboxes = self._claim()
        self._mcm_pass_on("health", "Check the access of due mailboxes", "_job_check_health", HEALTH_LEFT)
        if not mailboxes:
            return "checked: "
        mailboxes.with_context(mcm_release_job=True)._check_health(trigger="scheduled")
        return "checked: " + ",".join(str(i) for i in mailboxes.ids)

    # ------------------------------------------------------------------ held mail
    def _on_sending_resumed(self):
        """Found working again by a check's job: the release of what the mailbox held
        (after the sync of what came in meanwhile) is a job of its own, per mailbox."""
        if not self.env.context.get("mcm_release_job"):
            return super()._on_sending_resumed()
        since = self.env.context.get("mcm_stopped_since") or False
        for mailbox in self:
            mailbox._mcm_delay(f"release.{mailbox.id}", f"Release the mail held for {mailbox.email}")._job_release(
                since
            )
        return None

    def _job_release(self, since):
        """Release what this mailbox held, if it is still connected (a job)."""
        self.with_context(mcm_release_job=False, mcm_stopped_since=since)._on_sending_resumed()
        outcome = self.env.cr.cache.get(RESUMED, {}).get(self.id, {})
        return f"released: {outcome.get('released', 0)}"
