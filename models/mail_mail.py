import logging
import smtplib
from datetime import timedelta

import psycopg2

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError
from odoo.http import request
from odoo.tools import email_normalize, email_normalize_all, email_split
from odoo.tools.mail import email_split_and_format

from .ir_mail_server import (
    DEFERRED,
    DROPPED,
    RETRY_UNTRIED,
    SENDING_COMMITS,
    SENDING_MAIL,
    SENT_THROUGH,
    STOPPED_MAILBOXES,
    VETTED,
)

_logger = logging.getLogger(__name__)

SENDING_STATES = ("connected",)
# the fields this addon keeps on mail; Odoo writes them, never a user (over RPC or otherwise)
MCM_FIELDS = {"mcm_mailbox_id", "mcm_hold_reason", "mcm_wait_reason", "mcm_send_attempts", "mcm_send_started"}
RETRY_DELAYS = (1, 5, 15, 60)  # minutes before the next try of a mail that failed for a passing reason
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
MAX_PASSES = 3  # fresh SMTP sessions one sending call opens after connections dropped


class MailMail(models.Model):
    """Held mail: a mail that would leave through a connected mailbox that cannot send
    right now (access lost, throttled, error, disabled) stays queued (``outgoing``),
    with the reason, and is never failed, nor sent through another server. The queue
    skips it, so it never starves other mail; it is released when the mailbox is
    connected again.

    Every sending path is covered: the queue (``process_email_queue``), the direct
    ``send()`` that Odoo uses for notifications and small mass mailings, and a sign-in
    refused while sending (the batch is held instead of failed)."""

    _inherit = "mail.mail"

    mcm_mailbox_id = fields.Many2one(
        "mail.mailbox", string="Held for mailbox", index="btree_not_null", ondelete="set null", readonly=True
    )
    mcm_hold_reason = fields.Char("Waiting because", readonly=True, copy=False)
    mcm_wait_reason = fields.Char("Waiting for", readonly=True, copy=False)
    mcm_send_attempts = fields.Integer("Tries that failed for a passing reason", readonly=True, copy=False)
    # noted and committed just before the mail leaves through a mailbox from the queue, and
    # cleared with the outcome: still there (and the mail not locked), Odoo stopped meanwhile
    mcm_email_bcc = fields.Char(
        "Bcc", readonly=True, copy=False, help="Receive the mail without the other recipients seeing it."
    )
    mcm_send_started = fields.Datetime("Sending under way since", index="btree_not_null", readonly=True, copy=False)

    # ------------------------------------------------------------------ on whose behalf
    def _mcm_writers(self):
        """The users on whose behalf this mail leaves; each must be the owner of the mailbox
        it uses, or named in its *Who else may send through it*:

        - the users who created the mail and the message it carries (who posted in the
          chatter, clicked Send, ran the composer); never its author or From, which the
          poster chooses freely. OdooBot (the superuser) is left aside: it acts for someone;
        - for a campaign's mail, also the user who last edited the campaign (or, when only
          Odoo edited it, its responsible user);
        - for mail Odoo made on its own (a scheduled action, a notification sent later by
          the queue, the mail gateway): the responsible user (``user_id``) of the record the
          mail is about; without one, OdooBot itself."""
        self.ensure_one()
        mail = self.sudo()
        writers = (mail.create_uid | mail.mail_message_id.create_uid).filtered(lambda user: user.id != SUPERUSER_ID)
        if mail.mailing_id:
            writers |= mail.mailing_id.mcm_edited_by_id or mail.mailing_id.user_id
        if not writers:
            writers = mail._mcm_record_responsible() or mail.env["res.users"].browse(SUPERUSER_ID)
        return writers

    def _mcm_record_responsible(self):
        """The responsible user of the record this mail is about, if it has one."""
        if not (self.model and self.res_id) or self.model not in self.env:
            return self.env["res.users"]
        field = self.env[self.model]._fields.get("user_id")
        if not field or field.type != "many2one" or field.comodel_name != "res.users":
            return self.env["res.users"]
        return self.env[self.model].sudo().browse(self.res_id).exists().user_id

    def _mcm_foreign(self):
        """``{mail: (mailbox, writers)}`` for the mails that would leave as a connected
        mailbox (through its server, or from its address, connected or not) on behalf of
        someone the mailbox does not let send."""
        Mailboxes = self.env["mail.mailbox"].sudo().with_context(active_test=False)
        addresses = {email_normalize(mail.email_from) for mail in self} - {False}
        by_address = {}
        if addresses:
            found = Mailboxes.search([("email_normalized", "in", list(addresses))])
            by_address = {mailbox.email_normalized: mailbox for mailbox in found}
        foreign = {}
        for mail in self:
            server = mail.sudo().mail_server_id
            mailbox = server.mcm_mailbox_id if server.smtp_authentication == "mcm_mailbox" else None
            mailbox = mailbox or by_address.get(email_normalize(mail.email_from))
            if not mailbox:
                continue
            writers = mail._mcm_writers()
            if not mailbox._mcm_lets_send(writers):
                foreign[mail] = (mailbox, writers)
        return foreign

    def _mcm_refuse(self, foreign):
        """Fail ``{mail: (mailbox, writers)}``: never sent, through the mailbox or any other
        server, with the reason that says who may send through the mailbox."""
        refused = self.browse()
        for mail, (mailbox, writers) in foreign.items():
            reason = mailbox._mcm_foreign_reason(writers)
            mail.sudo().write(
                {
                    "state": "exception",
                    "failure_type": "mail_from_invalid",
                    "failure_reason": reason,
                    "mcm_mailbox_id": False,
                    "mcm_hold_reason": False,
                    "mcm_wait_reason": False,
                }
            )
            mail._postprocess_sent_message(success_pids=[], failure_reason=reason, failure_type="mail_from_invalid")
            refused |= mail
        return refused

    # ------------------------------------------------------------------ which mailbox
    def _mcm_mailbox_of(self):
        """``{mail: mailbox}`` for the mails that leave through a connected mailbox's server
        (the server set on the mail, or Odoo's routing by the From address); mail the
        mailbox does not send (:meth:`_mcm_foreign`) is not among them: it fails instead."""
        Servers = self.env["ir.mail_server"].sudo()
        by_server = {}
        unrouted = self.filtered(lambda mail: not mail.mail_server_id)
        addresses = {email_normalize(mail.email_from) for mail in unrouted} - {False}
        by_address = {}
        if addresses:
            own = Servers.search([("mcm_mailbox_id", "!=", False), ("from_filter", "in", list(addresses))])
            by_address = {server.from_filter: server.mcm_mailbox_id for server in own}
        for mail in self:
            server = mail.sudo().mail_server_id
            if server:
                if server.smtp_authentication == "mcm_mailbox" and server.mcm_mailbox_id:
                    by_server[mail] = server.mcm_mailbox_id
            elif mailbox := by_address.get(email_normalize(mail.email_from)):
                by_server[mail] = mailbox
        if by_server:
            foreign = self.browse([mail.id for mail in by_server])._mcm_foreign()
            by_server = {mail: mailbox for mail, mailbox in by_server.items() if mail not in foreign}
        return by_server

    def _mcm_by_mailbox(self, mailbox_of):
        """``{mail: mailbox}`` turned into ``{mailbox: mails}``."""
        groups = {}
        for mail, mailbox in mailbox_of.items():
            groups[mailbox] = groups.get(mailbox, self.browse()) | mail
        return groups

    def _mcm_outgoing_mailboxes(self):
        """:meth:`_mcm_mailbox_of` for the outgoing mails."""
        return self.filtered(lambda mail: mail.state == "outgoing")._mcm_mailbox_of()

    def _mcm_to_hold(self, mailbox_of=None):
        """``{mail: mailbox}`` for the outgoing mails whose mailbox cannot send now."""
        if mailbox_of is None:
            mailbox_of = self._mcm_outgoing_mailboxes()
        return {
            mail: mailbox
            for mail, mailbox in mailbox_of.items()
            if mailbox.state not in SENDING_STATES or not mailbox.active or mail.mailing_id.state == "paused"
        }

    def _mcm_hold(self, holds):
        """Hold ``{mail: mailbox}``: queued, with the reason, skipped by the queue."""
        for mailbox, mails in self._mcm_by_mailbox(holds).items():
            by_reason = {}
            for mail in mails:
                reason = mail._mcm_hold_reason_for(mailbox)
                by_reason[reason] = by_reason.get(reason, self.browse()) | mail
            for reason, group in by_reason.items():
                group.sudo().write(
                    {
                        "state": "outgoing",
                        "failure_reason": False,
                        "failure_type": False,
                        "mcm_mailbox_id": mailbox.id,
                        "mcm_hold_reason": reason,
                    }
                )
            if mailbox.state != "throttled" and (mailbox.state not in SENDING_STATES or not mailbox.active):
                # whatever the campaign's state (it may have finished generating: Odoo
                # queues a large campaign and marks it done), mail held for a mailbox that
                # cannot send pauses it, so that it resumes as Settings say
                mails.mailing_id.filtered(lambda mailing: mailing.state != "paused")._mcm_pause(mailbox)
        return self.browse([mail.id for mail in holds])

    def _mcm_hold_reason_for(self, mailbox):
        if mailbox.state in SENDING_STATES and mailbox.active and self.mailing_id.state == "paused":
            return _(
                "the campaign %(name)s is paused: it leaves when the campaign resumes", name=self.mailing_id.subject
            )
        return mailbox._hold_reason()

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(MCM_FIELDS & vals.keys() for vals in vals_list):
            raise AccessError(_("Odoo sets which mailbox holds a mail, and why, itself."))
        mails = super().create(vals_list)
        holds = mails._mcm_to_hold()
        if holds:
            mails._mcm_hold(holds)
            mails._mcm_tell_poster(holds)
        return mails

    def _mcm_tell_poster(self, holds):
        """Whoever just wrote mail that is held (the composer, a post over RPC) is told at
        once, in Odoo: it waits, why, and when it leaves. Campaigns say it on the
        campaign; Odoo's own work (OdooBot) tells nobody."""
        user = self.env.user
        if user.id == SUPERUSER_ID or user._is_public() or user.share:
            return
        if request and request.httprequest.path == "/mail/message/post":
            return  # a post in the chatter: its return says it (static/src/chatter/thread_patch.js)
        mailboxes = {mailbox for mail, mailbox in holds.items() if not mail.mailing_id}
        for mailbox in mailboxes:
            cause, leaves = mailbox._mcm_waiting_texts(mailbox._mcm_label(self.env))
            user._bus_send(
                "simple_notification",
                {
                    "type": "warning",
                    "sticky": True,
                    "title": _("Your message waits: it is not sent yet"),
                    "message": _(
                        "%(cause)s %(leaves)s It is kept, not failed: the chatter shows it as waiting.",
                        cause=cause,
                        leaves=leaves,
                    ),
                },
            )

    def write(self, vals):
        if MCM_FIELDS & vals.keys() and not self.env.su:
            raise AccessError(_("Odoo sets which mailbox holds a mail, and why, itself."))
        if "state" in vals and "mcm_send_started" not in vals:  # the outcome of a sending is known
            vals = {**vals, "mcm_send_started": False}
        # Odoo marks a mail failed right after its sending failed: a mail that must wait
        # (a passing failure) or be held (its mailbox stopped sending) stays queued instead
        # (only then: Odoo also writes "exception" on every mail just before sending it)
        if vals.get("state") == "exception":
            cache = self.env.cr.cache
            deferral = cache.pop(DEFERRED, None)
            waiting = self.browse()
            if deferral and not deferral["partial"]:
                waiting = self._mcm_defer(deferral)
            if cache.get(STOPPED_MAILBOXES) and (self - waiting):
                holds = (self - waiting)._mcm_to_hold((self - waiting)._mcm_mailbox_of())  # sent a moment ago
                if holds and not (deferral and deferral["partial"]):
                    waiting |= self._mcm_hold(holds)
            rest = self - waiting
            return super(MailMail, rest).write(vals) if rest else True
        if vals.get("state") == "sent":
            vals = {**vals, "mcm_wait_reason": False}
        return super().write(vals)

    def _mcm_defer(self, deferral):
        """Queue these mails again for a later try after a passing failure (the server
        asked to try later, the connection dropped…), with the reason and the time of the
        next try; return those that wait (not those that used their last try)."""
        now = fields.Datetime.now()
        tried = deferral["kind"] != RETRY_UNTRIED
        waiting = self.browse()
        for mail in self.sudo():
            attempts = mail.mcm_send_attempts + (1 if tried else 0)
            if attempts >= MAX_ATTEMPTS:
                continue
            when = now + timedelta(minutes=RETRY_DELAYS[attempts - 1] if tried and attempts else 0)
            mail.write(
                {
                    "state": "outgoing",
                    "failure_reason": False,
                    "failure_type": False,
                    "scheduled_date": fields.Datetime.to_string(when),
                    "mcm_send_attempts": attempts,
                    "mcm_wait_reason": _(
                        "%(cause)s It is tried again at %(time)s UTC (try %(attempt)s of %(max)s).",
                        cause=deferral["text"],
                        time=fields.Datetime.to_string(when),
                        attempt=attempts + 1,
                        max=MAX_ATTEMPTS,
                    ),
                }
            )
            self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger(at=when)
            waiting |= mail
        return waiting

    # ------------------------------------------------------------------ sending
    @api.model
    def process_email_queue(self, ids=None, batch_size=1000):
        self._mcm_fail_interrupted()
        filters = [*(self.env.context.get("filters") or []), ("mcm_hold_reason", "=", False)]
        return super(MailMail, self.with_context(filters=filters)).process_email_queue(ids=ids, batch_size=batch_size)

    def send(self, auto_commit=False, raise_exception=False, post_send_callback=None):
        # mail that would leave as a colleague's mailbox fails first, whatever its route
        refused = self._mcm_refuse(self.filtered(lambda mail: mail.state == "outgoing")._mcm_foreign())
        mails = self - refused
        mailbox_of = mails._mcm_outgoing_mailboxes()  # one lookup for holds and limits
        holds = mails._mcm_to_hold(mailbox_of)
        held = mails._mcm_hold(holds) if holds else self.browse()
        held |= mails.filtered("mcm_hold_reason")
        rest = (mails - held)._mcm_within_limits({m: mb for m, mb in mailbox_of.items() if m not in held})
        self.env.cr.cache.pop(DEFERRED, None)  # nothing left over from a call that raised
        # what leaves now was vetted here: its direct send (send_email) needs no second look
        vetted = set(filter(None, rest.mapped("message_id")))
        self.env.cr.cache.setdefault(VETTED, set()).update(vetted)
        try:
            for _pass in range(MAX_PASSES):
                if not rest:
                    return True
                try:
                    return super(MailMail, rest).send(
                        auto_commit=auto_commit, raise_exception=raise_exception, post_send_callback=post_send_callback
                    )
                except smtplib.SMTPServerDisconnected:
                    # a mailbox's server dropped the connection: the mail it was sending
                    # waits for another try, and Odoo's loop stopped there (its final quit
                    # fails): send what it did not reach, with fresh sessions
                    if not self.env.cr.cache.pop(DROPPED, False):
                        raise
                    rest = rest._mcm_not_reached()
            if rest:
                self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger()
            return True
        finally:
            self.env.cr.cache.get(VETTED, set()).difference_update(vetted)
            self.env["mail.mailbox"]._file_sent_copies()

    def _send(self, auto_commit=False, **kwargs):
        # the queue commits after each mail: a mail leaving through a mailbox is noted just
        # before it leaves (ir.mail_server._mcm_mark_sending), in a transaction of its own
        cache = self.env.cr.cache
        cache[SENDING_COMMITS] = auto_commit is True
        try:
            return super()._send(auto_commit=auto_commit, **kwargs)
        finally:
            cache.pop(SENDING_COMMITS, None)
            cache.pop(SENDING_MAIL, None)

    def _prepare_outgoing_list(self, *args, **kwargs):
        self.env.cr.cache[SENDING_MAIL] = self.id  # the mail that Odoo's _send sends now
        emails = super()._prepare_outgoing_list(*args, **kwargs)
        bcc = email_split_and_format(self.mcm_email_bcc or "")
        if bcc and emails:
            # a Bcc header, which Odoo turns into envelope recipients and takes off the mail;
            # Odoo sends only to the envelope addresses it validated, so they are added
            first = emails[0]
            first["headers"] = {**first["headers"], "Bcc": ", ".join(bcc)}
            first["email_to_normalized"] = first["email_to_normalized"] + email_normalize_all(self.mcm_email_bcc)
        return emails

    @api.model
    def _mcm_fail_interrupted(self):
        """The mails whose sending through a mailbox was under way when Odoo stopped (killed,
        restarted, the machine down) before it knew the outcome: the server may have
        accepted them. Never sent again blindly (a customer would get them twice): they
        fail with the reason and what to do, their mailbox says it, and a person sends
        them again or cancels them. A mail still being sent by a live process is locked
        by it, and left alone."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM mail_mail WHERE mcm_send_started IS NOT NULL FOR NO KEY UPDATE SKIP LOCKED"
                )
                ids = [row[0] for row in self.env.cr.fetchall()]
        except psycopg2.errors.SerializationFailure:  # its outcome was just committed: nothing to do
            return self.browse()
        mails = self.sudo().browse(ids)
        if not mails:
            return mails
        by_mailbox = mails._mcm_by_mailbox(mails._mcm_mailbox_of())
        for mailbox, group in by_mailbox.items():
            reason = mailbox._interrupted_send_reason()
            group.write(
                {"state": "exception", "failure_type": "mail_smtp", "failure_reason": reason, "mcm_send_started": False}
            )
            group._postprocess_sent_message(success_pids=[], failure_reason=reason, failure_type="mail_smtp")
            mailbox._tell_interrupted_send(group)
        rest = mails
        for group in by_mailbox.values():
            rest -= group
        if rest:  # no longer routed through a mailbox: the same fact, without its name
            reason = self.env["mail.mailbox"]._interrupted_send_reason()
            rest.write({"state": "exception", "failure_type": "mail_smtp", "failure_reason": reason})
            rest._postprocess_sent_message(success_pids=[], failure_reason=reason, failure_type="mail_smtp")
        _logger.warning("Odoo stopped while sending mails %s: failed, not sent again blindly", mails.ids)
        return mails

    def _mcm_not_reached(self):
        """The mails of a sending call still to send: queued, not held, not waiting."""
        now = fields.Datetime.now()
        return self.filtered(
            lambda mail: (
                mail.state == "outgoing"
                and not mail.mcm_hold_reason
                and not (mail.scheduled_date and mail.scheduled_date > now)
            )
        )

    def _mcm_recipient_count(self):
        self.ensure_one()
        addresses = {a for a in email_split(self.email_to or "") + email_split(self.email_cc or "")}
        return max(1, len(addresses) + len(self.recipient_ids))

    def _mcm_within_limits(self, mailbox_of):
        """The mails that the sending limits of their mailbox (``{mail: mailbox}``) let
        leave now. The others wait, scheduled for when they may, with the reason; the
        queue is woken then."""
        by_mailbox = self._mcm_by_mailbox(mailbox_of)
        waiting = self.browse()
        Usage = self.env["mail.mailbox.send.usage"]
        for mailbox, group in by_mailbox.items():
            mails = group.sorted("id")
            allowed, next_time = Usage._take(mailbox, [mail._mcm_recipient_count() for mail in mails])
            mails[:allowed].filtered("mcm_wait_reason").sudo().write({"mcm_wait_reason": False})
            later = mails[allowed:]
            if later:
                later.sudo().write(
                    {
                        "scheduled_date": fields.Datetime.to_string(next_time),
                        "mcm_wait_reason": mailbox._limit_reason(next_time),
                    }
                )
                self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger(at=next_time)
                waiting |= later
        return self - waiting

    def _postprocess_sent_message(self, success_pids, failure_reason=False, failure_type=None):
        # held or waiting mail has not failed: its notifications stay "ready"
        rest = self.filtered(lambda mail: mail.state != "outgoing")
        if not rest:
            return True
        told = rest._mcm_note_sent_through(success_pids)
        result = super(MailMail, rest)._postprocess_sent_message(
            success_pids, failure_reason=failure_reason, failure_type=failure_type
        )
        if told := told.filtered(lambda message: message.model and message.res_id):
            told._notify_message_notification_update()  # the chatter names the mailbox at once
        return result

    def _mcm_note_sent_through(self, success_pids):
        """Record, on the email notifications of the recipients this mail reached and on the
        traces of campaign mail, the mailbox it went through (the chatter names it, its
        bounces and replies apply to them); the messages concerned."""
        through = self.env.cr.cache.get(SENT_THROUGH) or {}
        told = self.env["mail.message"]
        for mail in self.filtered(lambda mail: mail.is_notification and mail.state == "sent"):
            mailbox_id = through.get(mail.message_id)
            if not mailbox_id:
                continue
            notifications = (
                self.env["mail.notification"]
                .sudo()
                .search(
                    [
                        ("notification_type", "=", "email"),
                        ("mail_mail_id", "=", mail.id),
                        ("res_partner_id", "in", [getattr(pid, "id", pid) for pid in success_pids]),
                    ]
                )
            )
            notifications.write({"mcm_mailbox_id": mailbox_id})
            told |= notifications.mail_message_id
        # campaign mail is no notification: its traces keep the mailbox (their bounces come back to it)
        for mail in self.filtered(lambda mail: mail.mailing_id and mail.state == "sent"):
            if mailbox_id := through.get(mail.message_id):
                mail.mailing_trace_ids.sudo().write({"mcm_mailbox_id": mailbox_id})
        return told

    def _mcm_tell_chatter(self):
        """The chatter of the records these mails are about shows their new state at once
        (held, released, sent through a mailbox) to their authors, as Odoo does for failures."""
        notifying = self.sudo().filtered("is_notification")  # the chatter's email notifications
        messages = notifying.mail_message_id.filtered(lambda message: message.model and message.res_id)
        if messages:
            messages._notify_message_notification_update()

    @api.model
    def _mcm_release(self, mailbox):
        """Release what was held for ``mailbox`` (connected again) and wake the queue."""
        held = self.sudo().search(
            [
                ("mcm_mailbox_id", "=", mailbox.id),
                ("mcm_hold_reason", "!=", False),
                "|",
                ("mailing_id", "=", False),
                ("mailing_id.state", "!=", "paused"),  # until the campaign resumes
            ]
        )
        if held:
            held.write({"mcm_hold_reason": False})
            held._mcm_tell_chatter()
            self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger()
        return held

    @api.model
    def _mcm_hold_queued(self, mailbox):
        """Hold the queued mail of ``mailbox`` when it stops being able to send, so that
        the queue never even picks it (the queue takes the newest mail first)."""
        server = mailbox._get_mail_server()
        domain = [("state", "=", "outgoing"), ("mcm_hold_reason", "=", False)]
        if server:
            domain += ["|", ("mail_server_id", "=", server.id), ("email_from", "ilike", mailbox.email_normalized)]
        else:
            domain += [("email_from", "ilike", mailbox.email_normalized)]
        candidates = self.sudo().search(domain)
        holds = {mail: mb for mail, mb in candidates._mcm_mailbox_of().items() if mb == mailbox}
        held = candidates._mcm_hold(holds) if holds else self.browse()
        held._mcm_tell_chatter()
        return held
