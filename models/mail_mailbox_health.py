"""Health: the one owner of a mailbox's status, the scheduled check, and what entering
and leaving "Access lost" does (alerts once per incident, held mail, reminders).

Every status change goes through :meth:`_set_state`; the hooks
:meth:`_on_access_lost` / :meth:`_on_access_restored` and
:meth:`_on_sending_stopped` / :meth:`_on_sending_resumed` are where alerts, held mail
(and later campaigns and sync) plug in.

The scheduled check claims due mailboxes with row locks (``FOR UPDATE SKIP LOCKED``:
a cron run, a button and another Odoo process never check the same mailbox at once),
runs the network part of every check concurrently (``mailbox_engine.health``), then
writes the results in the cron's transaction, in bounded batches with progress.
"""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg2
from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..mailbox_engine import diagnosis as diag_lib
from ..mailbox_engine import health as health_lib
from ..mailbox_engine import providers
from ..mailbox_engine.connection_test import Step
from ..mailbox_engine.diagnosis import shown
from ..mailbox_engine.oauth import GoogleClient, MicrosoftClient
from .mail_mailbox import ADMIN_GROUP, NEW_PASSWORD, PARAM, count_shown, counted

_logger = logging.getLogger(__name__)

CHECKED_STATES = ("connected", "throttled", "error")  # auth_lost waits for a Reconnect
SENDING_STOPS = ("auth_lost", "throttled", "error", "disabled")  # (draft: disconnect retires the server)
CAUGHT_UP_AFTER = ("auth_lost", "error")  # back from these, mail that came in meanwhile is synced first
TRANSIENT_TO_ERROR = 3  # passing failures in a row before the mailbox shows an error
RETRY_MINUTES = (1, 5, 15, 60)  # after a passing failure or a throttle (backoff), at least Retry-After
DEFAULT_INTERVAL = 15  # minutes between scheduled checks of a healthy mailbox
DEFAULT_REMINDER_DAYS = 2
BATCH = 50  # mailboxes per cron round, at least (and reminders per round)
WORKERS = 64  # checks on the network at once (setting health_workers): sized for waiting on servers
CLAIM_PER_WORKER = 2  # a cron round claims this many mailboxes per check on the network
SECRET_KINDS = ("password", "refresh_token", "token_cache")  # what checks read, for a batch at once
ALERT_TEXT_MAX = 600  # characters of a cause or a fix in an alert (what a server said is capped before)


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    next_check_at = fields.Datetime("Next check", readonly=True, copy=False, index=True)
    failures_in_row = fields.Integer(readonly=True, copy=False)
    access_lost_since = fields.Datetime("Access lost since", readonly=True, copy=False)
    reminded_at = fields.Datetime(readonly=True, copy=False)
    state_changed_at = fields.Datetime("In this status since", readonly=True, copy=False)
    health_log_ids = fields.One2many("mail.mailbox.health.log", "mailbox_id", string="Check history")

    # ------------------------------------------------------------------ the one status owner
    def _set_state(self, state, diagnosis=None):
        """Move to ``state`` (with the diagnosis' cause and fix, if any) and run the hooks
        of the transition. The only code that writes a mailbox's status.

        Two processes finding the same loss at once cannot both alert: the second one's
        write of the row fails with a serialization error (Odoo retries it, and then sees
        the state already changed)."""
        for mailbox in self:
            previous = mailbox.state
            stopped_since = mailbox.state_changed_at if previous in CAUGHT_UP_AFTER else False
            values = {"state": state}
            if previous != state:
                values["state_changed_at"] = fields.Datetime.now()
            if diagnosis is not None:
                cause, fix = mailbox._render_diagnosis(diagnosis)
                values.update(last_error_date=fields.Datetime.now(), last_error_cause=cause, last_error_fix=fix)
            if state == "connected":
                values.update(failures_in_row=0, access_lost_since=False, reminded_at=False)
            if state == "auth_lost" and previous != "auth_lost":
                values["access_lost_since"] = fields.Datetime.now()
            if self.env.user._is_public():  # a link's holder: the owner's change, never the Public user's
                link = mailbox._reconnect_link()
                mailbox._track_set_author(
                    mailbox.user_id.partner_id if link and mailbox.user_id else self.env.ref("base.partner_root")
                )
            mailbox.sudo().with_context(mcm_status_owner=True).write(values)
            mailbox._on_status_written(previous)
            if previous == state:
                continue
            if state == "connected":  # reconnected: links shared before are dead
                self.env["mail.mailbox.reconnect.link"]._end_reconnected(mailbox)
            if state == "auth_lost":
                mailbox._on_access_lost(diagnosis)
            elif previous == "auth_lost":
                mailbox._on_access_restored()
            if state in SENDING_STOPS:
                mailbox._on_sending_stopped()
            elif state == "connected":
                mailbox.with_context(mcm_stopped_since=stopped_since)._on_sending_resumed()

    def _on_status_written(self, previous):
        """After every write of the status (changed or not: the cause may be new): the
        open views reload and the owner's top-bar indicator looks again."""
        self.ensure_one()
        self._send_live_status()

    def _on_access_lost(self, diagnosis=None):
        """Entering "Access lost", once per incident: the owner, every mailbox administrator
        and the mailbox address itself are told, in Odoo and by email (never through this
        mailbox), and the owner gets an activity."""
        self.ensure_one()
        self._alert(reminder=False)

    def _on_access_restored(self):
        """Leaving "Access lost": the reconnect activity is done, in the name of whoever
        reconnected it (through a shareable link: the owner, for whom the link acts)."""
        self.ensure_one()
        activities = self.activity_ids.filtered(lambda a: a.summary and self.email in a.summary)
        link = self._reconnect_link()
        if link and self.user_id:
            activities.with_user(self.user_id).sudo().action_feedback(feedback=link._used_text())
        else:
            activities.action_feedback(feedback=_("Reconnected."))

    # ------------------------------------------------------------------ alerts
    def message_post(self, **kwargs):
        """Whoever opened a shareable link has no Odoo login: what Odoo says meanwhile
        (the summary, a refused password) is said by OdooBot, never by the Public user."""
        if not kwargs.get("author_id") and self.env.user._is_public():
            kwargs["author_id"] = self.env.ref("base.partner_root").id
        return super().message_post(**kwargs)

    def _message_compute_author(self, author_id=None, email_from=None, raise_on_email=True):
        """A note on a mailbox (Connected by…, Sync enabled by…) never needs its author's
        email address: a user whose Odoo account has none still connects, the note is in
        their name, and should it be mailed, it leaves from Odoo's default address."""
        return super()._message_compute_author(author_id, email_from, raise_on_email=False)

    def _alert_partners(self):
        """The owner and every mailbox administrator."""
        admins = self.env.ref(ADMIN_GROUP).sudo().users.filtered("active")
        return (self.user_id | admins).partner_id

    def _alert(self, reminder=False):
        self.ensure_one()
        cause = self.last_error_cause or _("Odoo can no longer sign in to %(address)s.", address=self.email)
        fix = self.last_error_fix or _("Click Reconnect and sign in again.")
        subject = (
            _("Reminder: %(address)s is still disconnected from Odoo", address=self.email)
            if reminder
            else _("%(address)s is disconnected from Odoo", address=self.email)
        )
        body = self._alert_body(cause, fix)
        if not reminder and self.user_id:
            self.sudo().activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=self.user_id.id,
                summary=_("Reconnect %(address)s", address=self.email),
                note=body,
            )
        # the owner and the administrators, and the mailbox address itself by email
        self._tell(self._alert_partners(), subject, body, addresses=[self.email_normalized], record=self)

    @api.model
    def _tell(self, partners, subject, body, addresses=(), record=None):
        """Tell ``partners``: in Odoo those who read their notifications there (from
        OdooBot, on ``record``: an inbox notification each, the one who did what caused
        the alert included), and by email everyone (plus ``addresses``), once each.
        ``body`` is HTML built with ``Markup`` (every value escaped where it enters);
        plain text is shown as text. Escaping is idempotent on ``Markup``: the HTML is
        never escaped a second time."""
        body = escape(body)
        inbox = partners.filtered(lambda p: any(u.notification_type == "inbox" for u in p.user_ids))
        if inbox:
            (record or self.env["mail.thread"]).sudo().message_notify(
                partner_ids=inbox.ids,
                subject=subject,
                body=body,
                author_id=self.env.ref("base.partner_root").id,
                email_from=self._alert_sender(),
                # Odoo leaves out the current user (taken for the author): an administrator
                # whose own click found the loss must find the alert in the inbox too
                notify_author=True,
            )
        self._send_alert_email(subject, body, [p.email_normalized for p in partners] + list(addresses))

    @api.model
    def _send_alert_email(self, subject, body, addresses):
        """One email to ``addresses``, from the company's address through the company's
        own server, pinned on the mail: by its address, Odoo would route an alert about a
        mailbox through that very mailbox."""
        addresses = sorted({address for address in addresses if address})
        body = escape(body)  # plain text stays text: only Markup is HTML
        if not addresses:
            return self.env["mail.mail"]
        # the queue runs hourly by itself: woken, it tells them within a minute
        self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger()
        return (
            self.env["mail.mail"]
            .sudo()
            .create(
                {
                    "subject": subject,
                    "body_html": body,
                    "email_to": ", ".join(addresses),
                    "email_from": self._alert_sender(),
                    "mail_server_id": self._alert_server().id,
                    "auto_delete": True,
                }
            )
        )

    def _alert_body(self, cause, fix):
        """The alert in HTML: the cause and the fix as text (escaped, capped), then ours."""
        url = f"{self.get_base_url()}/odoo/action-mail_connected_mailbox.mail_mailbox_action/{self.id}"
        return Markup('<p>%s</p><p>%s</p><p>%s</p><p><a href="%s">%s</a></p>') % (
            shown(cause, limit=ALERT_TEXT_MAX),
            shown(fix, limit=ALERT_TEXT_MAX),
            _("Until then, mail sent from Odoo through it waits (nothing is lost) and nothing new is synced."),
            url,
            _("Open the mailbox"),
        )

    def _alert_sender(self):
        """The company's notification address (never a mailbox's own address): the
        company's email, Odoo's default From, or notifications@ the catchall domain."""
        found = self.env.company.email_formatted or self.env["ir.mail_server"]._get_default_from_address()
        if found:
            return found
        domain = self.env.company.alias_domain_id.name or urlsplit(self.get_base_url()).hostname or "localhost"
        return f"notifications@{domain}"

    def _alert_server(self):
        """A server that works for alerts: Odoo's own servers, never a mailbox's."""
        Servers = self.env["ir.mail_server"].sudo()
        own = Servers.search([("smtp_authentication", "!=", "mcm_mailbox")], order="sequence")
        if not own:
            return Servers
        server, _from = Servers._find_mail_server(self._alert_sender(), mail_servers=own)
        return server or own[:1]

    # ------------------------------------------------------------------ the scheduled check
    @api.model
    def _health_interval(self):
        value = self.env["ir.config_parameter"].sudo().get_param(PARAM + "health_check_minutes")
        return max(1, int(value or DEFAULT_INTERVAL))

    @api.model
    def _claim(self, ids=None, limit=BATCH):
        """Lock and return mailboxes to check: due ones (or ``ids``, lost ones included),
        skipping those another transaction is checking (``FOR UPDATE SKIP LOCKED``)."""
        now = fields.Datetime.now()
        if ids is not None:  # Check now: a lost mailbox too (its password may be back)
            where = SQL("active AND state IN %s AND id IN %s", (*CHECKED_STATES, "auth_lost"), tuple(ids) or (0,))
        else:
            where = SQL(
                "active AND state IN %s AND (next_check_at IS NULL OR next_check_at <= %s)", CHECKED_STATES, now
            )
        query = SQL(
            "SELECT id FROM mail_mailbox WHERE %s ORDER BY next_check_at NULLS FIRST, id LIMIT %s "
            "FOR UPDATE SKIP LOCKED",
            where,
            limit,
        )
        try:
            with self.env.cr.savepoint():
                self.env.cr.execute(query)
                return self.browse([row[0] for row in self.env.cr.fetchall()])
        except psycopg2.errors.SerializationFailure:  # changed since this transaction began
            return self.browse()

    @api.model
    def _count_due(self):
        return self.search_count(
            [
                ("state", "in", CHECKED_STATES),
                "|",
                ("next_check_at", "=", False),
                ("next_check_at", "<=", fields.Datetime.now()),
            ]
        )

    @api.model
    def _health_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        return {
            "workers": max(1, int(params.get_param(PARAM + "health_workers") or WORKERS)),
            # "0": LOGOUT and QUIT waited for, as before, for a server that minds a closed connection
            "pipelined": params.get_param(PARAM + "health_pipelining") != "0",
        }

    @api.model
    def _cron_check_health(self):
        """Check due mailboxes in bounded batches, with progress; remind lost ones."""
        mailboxes = self._claim(limit=max(BATCH, CLAIM_PER_WORKER * self._health_settings()["workers"]))
        if mailboxes:
            mailboxes._check_health(trigger="scheduled")
        self._remind_lost()
        self.env["ir.cron"]._notify_progress(done=len(mailboxes), remaining=self._count_due() if mailboxes else 0)

    def _check_health(self, trigger="scheduled"):
        """Check these (claimed) mailboxes: the network part of up to ``health_workers``
        checks at once (default ``WORKERS``); each result that works is written as it comes, while the others are
        still on the network; failures wait for the whole batch, which says whether they
        are one incident of an app or a provider rather than each mailbox's own."""
        outcomes, not_prepared = [], []
        batch = {"logs": [], "grants": []}  # written together at the end
        by_id = {mailbox.id: mailbox for mailbox in self}
        settings = self._health_settings()
        secrets = self.env["mail.mailbox.secret"]._read_secrets(self, SECRET_KINDS)
        apps = {}  # per provider: the OAuth app, read once for the batch
        # the process's threads (kept between runs); one mailbox (Check now) has a thread of its own
        with health_lib.Prober(settings["workers"] if len(self) > 1 else 1) as prober:
            for mailbox in self:
                try:
                    item = mailbox._prepare_probe(secrets, apps)
                    item.pipelined = settings["pipelined"]
                    prober.submit(item)
                except Exception as exc:  # e.g. no OAuth app configured: one mailbox, not the run
                    _logger.warning("Mailbox %s: check not prepared", mailbox.id, exc_info=True)
                    params = {"provider": mailbox.provider, "address": mailbox.email, "detail": str(exc)[:120]}
                    diagnosis = diag_lib.diagnose("request", "setup", **params)
                    not_prepared.append(
                        health_lib.Outcome(
                            mailbox.id,
                            mailbox.provider,
                            False,
                            "Setup",
                            diagnosis,
                            host=mailbox.imap_host or "",
                            owner=mailbox.user_id.id,
                            steps=(("IMAP", Step("Setup", False, "", diagnosis)),),
                        )
                    )
            for outcome in prober.outcomes():
                outcomes.append(outcome)
                if outcome.ok:
                    by_id[outcome.mailbox_id]._apply_outcome(outcome, trigger, batch=batch)
        outcomes += not_prepared
        incidents = health_lib.incidents(outcomes)
        in_incident = {mailbox_id for incident in incidents for mailbox_id in incident.mailbox_ids}
        for incident in incidents:
            self.env["mail.mailbox.incident"]._open(incident)
        for outcome in outcomes:
            if not outcome.ok:
                mailbox = by_id[outcome.mailbox_id]
                mailbox._apply_outcome(outcome, trigger, in_incident=outcome.mailbox_id in in_incident, batch=batch)
        self._store_grants(batch["grants"])
        self.env["mail.mailbox.health.log"].sudo().create(batch["logs"])  # one INSERT for the batch
        working = {health_lib.group_key(o.provider, o.host) for o in outcomes if o.ok}
        if working:
            self.env["mail.mailbox.incident"]._close(working)
        return outcomes

    def _prepare_probe(self, secrets=None, apps=None):
        """What :func:`mailbox_engine.health.probe` needs, read here (secrets, app).
        ``secrets``: the batch's, read together (``{(mailbox id, kind): plaintext}``);
        ``apps``: the batch's OAuth apps by provider (filled here)."""
        self.ensure_one()
        apps = {} if apps is None else apps

        def secret(kind):
            value = None if secrets is None else secrets.get((self.id, kind), "")
            return self._get_secret(kind) if value is None else value  # (one that did not decrypt raises here)

        if not providers.PROVIDERS[self.provider].oauth:
            password = secret("password")
            return health_lib.Probe(
                self.id,
                self.provider,
                self.email,
                self._server("imap", password=password),
                self._server("smtp", password=password),
                owner=self.user_id.id,
            )
        if self.provider not in apps:
            apps[self.provider] = self._oauth_app()
        if self.provider == "google":
            client = GoogleClient(apps["google"])
            refresh_token = secret("refresh_token")

            def refresh(client, address=self.email):
                return client.refresh(refresh_token, address)

        else:  # its client asks the provider for its endpoints when made: made on the network, in the pool
            client = None
            app, token_cache = apps[self.provider], secret("token_cache")

            def refresh(_client, address=self.email):
                return MicrosoftClient(app, token_cache).refresh(address, force=True)

        return health_lib.Probe(
            self.id,
            self.provider,
            self.email,
            self._server("imap", password=""),
            client=client,
            refresh=refresh,
            owner=self.user_id.id,
        )

    def _apply_outcome(self, outcome, trigger, in_incident=False, batch=None):
        """Write one check's result: the history, the status, the next check. ``batch``:
        ``{"logs": [], "grants": []}`` the history's values and the refreshed tokens go
        to, written together by the caller."""
        self.ensure_one()
        now = fields.Datetime.now()
        diagnosis = outcome.diagnosis
        logs = batch["logs"] if batch is not None else None
        if outcome.grant and batch is not None:
            batch["grants"].append((self, outcome.grant))
        elif outcome.grant:
            self._store_grant(outcome.grant)
        if outcome.ok and self.state == "connected":  # the usual case: one write
            self._apply_working(outcome, trigger, now, logs)
            return
        if outcome.ok:
            result = "ok"
            self._set_state("connected")
            self.message_post(body=_("Access works again (checked by Odoo)."))
            next_at = now + timedelta(minutes=self._health_interval())
        elif in_incident:
            result = "incident"  # the app or the provider: told to administrators once, not here
            next_at = now + timedelta(minutes=self._health_interval())
        else:
            failures = self.failures_in_row + 1
            self.sudo().write({"failures_in_row": failures})
            delay = timedelta(minutes=RETRY_MINUTES[min(failures, len(RETRY_MINUTES)) - 1])
            if diagnosis.state is diag_lib.TRANSIENT:
                result = "transient"
                if failures >= TRANSIENT_TO_ERROR:
                    self._set_state("error", diagnosis)
                else:
                    self._apply_diagnosis(diagnosis)
            else:
                result = diagnosis.state
                self._set_state(diagnosis.state, diagnosis)
                if diagnosis.state == diag_lib.THROTTLED:
                    delay = max(delay, timedelta(seconds=diagnosis.retry_after or 60))
                elif diagnosis.state == diag_lib.ERROR:
                    delay = timedelta(minutes=self._health_interval())
            next_at = None if result == "auth_lost" else now + delay
        self.sudo().write({"last_check_date": now, "next_check_at": next_at})
        if outcome.steps:  # the Last check tab shows this check, step by step
            self._write_check_report(outcome.steps)
        self._log_check(trigger, result, diagnosis, outcome.step, outcome.seconds, logs=logs)
        if trigger == "manual":  # Check now: its views show the result (a new status is sent anyway)
            self._send_live_changed(admins=True)

    def _apply_working(self, outcome, trigger, now, logs):
        """A check that worked on a connected mailbox: its values in one write."""
        values = {"last_check_date": now, "next_check_at": now + timedelta(minutes=self._health_interval())}
        if self.failures_in_row:
            values["failures_in_row"] = 0
        if self.last_error_cause or self.last_error_fix or self.last_error_date:
            values.update(last_error_cause=False, last_error_fix=False, last_error_date=False)
        if outcome.steps:
            values.update(self._check_report_values(outcome.steps)[0])
        # none of these values is tracked: the chatter's tracking has nothing to look at
        self.sudo().with_context(tracking_disable=True).write(values)
        self._log_check(trigger, "ok", None, outcome.step, outcome.seconds, logs=logs)
        if trigger == "manual":
            self._send_live_changed(admins=True)

    @api.model
    def _remind_lost(self):
        """A reminder to the same people while a mailbox stays lost, every few days."""
        days = int(self.env["ir.config_parameter"].sudo().get_param(PARAM + "reminder_days") or DEFAULT_REMINDER_DAYS)
        if days <= 0:
            return
        edge = fields.Datetime.now() - timedelta(days=days)
        lost = self.search(
            [
                ("state", "=", "auth_lost"),
                ("access_lost_since", "<=", edge),
                "|",
                ("reminded_at", "=", False),
                ("reminded_at", "<=", edge),
            ],
            limit=BATCH,
        )
        for mailbox in lost:
            mailbox._alert(reminder=True)
            mailbox.sudo().write({"reminded_at": fields.Datetime.now()})

    def _schedule_check(self, seconds):
        """Have the health check look at this mailbox in ``seconds`` (at the latest)."""
        self.ensure_one()
        when = fields.Datetime.now() + timedelta(seconds=seconds or 60)
        if not self.next_check_at or self.next_check_at > when:
            self.sudo().write({"next_check_at": when})
            self.env.ref("mail_connected_mailbox.ir_cron_mailbox_health")._trigger(at=when)

    def _log_check(self, trigger, result, diagnosis=None, step="", seconds=0.0, *, logs=None):
        """One line of the check history (``logs``: appended there, to create later)."""
        cause, fix = self._render_diagnosis(diagnosis) if diagnosis else ("", "")
        (logs.append if logs is not None else self.env["mail.mailbox.health.log"].sudo().create)(
            {
                "mailbox_id": self.id,
                "trigger": trigger,
                "result": result,
                "step": step,
                "cause": cause,
                "fix": fix,
                "provider_code": diagnosis.provider_code if diagnosis else "",
                "seconds": round(seconds, 2),
            }
        )

    # ------------------------------------------------------------------ shareable link
    def action_get_reconnect_link(self):
        """A link whoever holds the inbox can open without an Odoo login to reconnect it."""
        self._check_can_act()
        return {
            "type": "ir.actions.act_window",
            "name": _("Shareable reconnect link"),
            "res_model": "mail.mailbox.reconnect.link.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_mailbox_id": self.id},
        }

    def _start_oauth_from_link(self, link, browser_secret):
        """The provider's sign-in URL for whoever opened ``link`` (bound to their browser)."""
        self.ensure_one()
        self._check_oauth_app(self.provider)
        client = self._oauth_client()
        return self.env["mail.mailbox.connect.attempt"]._new(
            self, lambda state: client.start(state, self.email or ""), link=link, browser_secret=browser_secret
        )

    def _reconnect_with_password_from_link(self, link, password):
        """Try ``password`` typed on the link's page; ``None`` when the mailbox works again,
        else ``{"cause", "fix"}`` (a few refused passwords end the link)."""
        self.ensure_one()
        if not password:
            return {"cause": _("Type the mailbox's password (or app password)."), "fix": ""}
        try:  # the owner's rate: the link acts for them
            self._gate_action(user=self.user_id)
        except UserError as exc:
            return {"cause": str(exc), "fix": ""}
        self._set_secrets({NEW_PASSWORD: password})
        failed = self._check_credentials()
        if failed:
            link._refused()
            cause, fix = self._render_diagnosis(failed.diagnosis)
            return {"cause": cause, "fix": fix}
        link._used()
        return None

    # ------------------------------------------------------------------ health board (bulk)
    def action_bulk_check(self):
        """Check now, for the selected mailboxes (those another check holds are skipped)."""
        for mailbox in self:
            mailbox._check_can_act()
        self._gate_action()
        claimed = self.sudo()._claim(ids=self.ids, limit=len(self.ids))
        outcomes = claimed._check_health(trigger="manual") if claimed else []
        works = sum(1 for outcome in outcomes if outcome.ok)
        parts = [
            _(
                "%(count)s checked: %(works)s worked, %(failed)s failed.",
                count=count_shown(self.env, len(outcomes)),
                works=count_shown(self.env, works),
                failed=count_shown(self.env, len(outcomes) - works),
            )
        ]
        skipped = len(self) - len(claimed)
        if skipped:
            parts.append(
                _(
                    "%(count)s skipped (being checked right now, or not connected).",
                    count=count_shown(self.env, skipped),
                )
            )
        return self._notify(_("Check access"), " ".join(parts), "info" if works == len(outcomes) else "warning")

    def action_bulk_disable(self):
        for mailbox in self:
            mailbox.action_disable()
        return True

    def action_bulk_send_links(self):
        """Email each owner one message with a shareable reconnect link for each of their
        selected mailboxes (administrators only)."""
        if not self.env.user.has_group(ADMIN_GROUP):
            raise AccessError(_("Only a mailbox administrator sends reconnect links to owners."))
        for mailbox in self:
            mailbox._check_can_act()
        Links = self.env["mail.mailbox.reconnect.link"]
        for owner in self.mapped("user_id"):
            rows, until = [], None
            for mailbox in self.filtered(lambda m, owner=owner: m.user_id == owner):
                link, url = Links._make(mailbox)
                until = link.expires_at
                rows.append(Markup("<li>%s: <a href='%s'>%s</a></li>") % (mailbox.email, url, url))
                mailbox.message_post(
                    body=_(
                        "%(user)s sent a shareable reconnect link to %(owner)s.",
                        user=self.env.user.name,
                        owner=owner.name,
                    )
                )
            body = Markup("<p>%s</p><ul>%s</ul><p>%s</p>") % (
                _(
                    "%(user)s asks you to reconnect your mailboxes to Odoo. Open each link and sign in again:",
                    user=self.env.user.name,
                ),
                Markup("").join(rows),
                _("Each link works once, until %(date)s UTC.", date=fields.Datetime.to_string(until)),
            )
            # by email only: the links are not kept in Odoo's messages
            self._send_alert_email(_("Please reconnect your mailboxes to Odoo"), body, [owner.email_formatted])
        return self._notify(
            _("Reconnect links sent"),
            counted(
                self.env,
                len(self.mapped("user_id")),
                _("%(count)s owner got one message."),
                _("%(count)s owners got one message each."),
            ),
            "success",
        )

    # ------------------------------------------------------------------ Check now
    def action_check_now(self):
        """Check this mailbox now, as the scheduled check does (and recorded the same way);
        a check already running elsewhere for it is not doubled."""
        self._check_can_act()
        mailbox = self.sudo()._claim(ids=self.ids, limit=1)
        if not mailbox:
            if self.state not in (*CHECKED_STATES, "auth_lost"):
                return self.action_test_connection()
            return self._notify(
                _("A check is already running"), _("Odoo is checking this mailbox right now."), "info", reload=True
            )
        self._gate_action()
        (outcome,) = mailbox._check_health(trigger="manual")
        if outcome.ok:
            return self._notify(_("Access works"), _("Odoo signed in to the mailbox."), "success", reload=True)
        cause, fix = self._render_diagnosis(outcome.diagnosis)
        return self._notify(_("Check failed"), f"{cause}\n{fix}", "danger", reload=True)
