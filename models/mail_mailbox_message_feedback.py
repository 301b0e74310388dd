"""Campaign feedback found in synced mail, applied in Odoo: a bounce of a message the
mailbox sent (hard: as Odoo's own gateway applies it; soft: noted only) and a reply to
one of its campaigns. Each applies to the traces, notifications and sent messages of the
mailbox that received it, never another's, and once: only rows the sync has just stored."""

import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.osv.expression import OR
from odoo.tools import email_normalize, email_split

from ..mailbox_engine import feedback as feedback_lib

_logger = logging.getLogger(__name__)
RECIPIENT_MATCH_DAYS = 3  # a report naming no message: what was sent to the address this long before


def _addresses(*headers):
    """The normalized addresses of these header values."""
    return {email_normalize(address) for header in headers for address in email_split(header or "")} - {False}


class MailMailboxMessageFeedback(models.Model):
    """What a synced message says of the mailbox's own sending: a bounce of a message it
    sent, or a reply to one of its campaigns; applied to the traces and notifications of
    that mailbox only, once."""

    _inherit = "mail.mailbox.message"

    mcm_feedback = fields.Selection(
        [("bounce", "Bounce"), ("reply", "Campaign reply")], string="Feedback", readonly=True, index="btree_not_null"
    )
    mcm_bounce_json = fields.Text("Delivery report", readonly=True, help="The failures the bounce reports, as read.")
    mcm_feedback_state = fields.Selection([("applied", "Applied"), ("ignored", "Ignored")], readonly=True)
    mcm_feedback_note = fields.Char("Why ignored", readonly=True)
    mcm_auto_submitted = fields.Boolean("Sent by a machine", readonly=True)
    mcm_delivery_report = fields.Html("Failures", compute="_compute_mcm_delivery_report", sanitize=False)

    @api.depends("mcm_bounce_json")
    def _compute_mcm_delivery_report(self):
        kinds = {True: self.env._("Hard"), False: self.env._("Soft")}
        for message in self:
            bounce = message._mcm_bounce()
            if not bounce or not bounce.failures:
                message.mcm_delivery_report = False
                continue
            rows = Markup("").join(
                Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
                % (failure.email, kinds[failure.hard], failure.status, failure.reason)
                for failure in bounce.failures
            )
            head = Markup("<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>") % (
                _("Recipient"),
                _("Bounce"),
                _("Status"),
                _("Reason"),
            )
            table = Markup("<table class='table table-sm'><thead>%s</thead><tbody>%s</tbody></table>") % (head, rows)
            if bounce.original_ids:
                table += Markup("<p class='text-muted'>%s</p>") % _(
                    "Message that bounced: %(ids)s", ids=", ".join(bounce.original_ids)
                )
            message.mcm_delivery_report = table

    def _mcm_bounce(self):
        """The :class:`feedback.Bounce` this row stores, or None."""
        self.ensure_one()
        if not self.mcm_bounce_json:
            return None
        try:
            return feedback_lib.Bounce.from_json(self.mcm_bounce_json)
        except (ValueError, TypeError, KeyError):
            return None

    # -- applying a batch
    def _mcm_apply_feedback(self):
        """Apply the bounces and campaign replies among these rows, just stored by the
        sync (as superuser); then the bounce guard of the mailboxes that got new hard
        bounces. A row whose feedback cannot be applied stays ordinary mail."""
        rows = self.sudo().filtered(lambda m: m.kind == "stored" and not m.mcm_feedback_state)
        bounced = self.env["mail.mailbox"].sudo()
        for row in rows.filtered(lambda m: m.mcm_feedback == "bounce"):
            try:
                with self.env.cr.savepoint():
                    if row._mcm_apply_bounce():
                        bounced |= row.mailbox_id
            except Exception:  # that bounce alone: the batch and the sync go on
                _logger.exception(
                    "Mailbox %s: the bounce in message %s could not be applied", row.mailbox_id.id, row.id
                )
        try:
            with self.env.cr.savepoint():
                rows.filtered(lambda m: m.mcm_feedback != "bounce" and not m.mcm_auto_submitted)._mcm_apply_replies()
        except Exception:  # the replies alone: the batch and the sync go on
            _logger.exception("Mailboxes %s: campaign replies could not be applied", rows.mailbox_id.ids)
        if bounced:
            bounced._mcm_bounce_guard()
        return bounced

    def _mcm_ignore(self, note):
        self.write({"mcm_feedback_state": "ignored", "mcm_feedback_note": note})
        return False

    # -- bounces
    def _mcm_apply_bounce(self):
        """Apply this bounce to what its mailbox sent; True when a hard bounce was applied."""
        self.ensure_one()
        mailbox = self.mailbox_id
        if email_normalize(self.email_from or "") == mailbox.email_normalized:
            # the mailbox's own mail (a bounce forwarded, its Sent copy) is never a bounce
            self.write({"mcm_feedback": False, "mcm_bounce_json": False})
            return False
        bounce = self._mcm_bounce()
        if bounce is None:
            return self._mcm_ignore(_("The delivery report could not be read."))
        if bounce.loop:
            return self._mcm_ignore(_("A bounce of a bounce: never applied."))
        traces, notifications, sent = self._mcm_originals(list(bounce.original_ids))
        by_recipient = False
        if not bounce.original_ids:  # a report that names no message: what it last sent them
            traces, notifications = self._mcm_recently_sent_to([failure.email for failure in bounce.failures])
            by_recipient = bool(traces or notifications)
        if not (traces or notifications or sent):
            return self._mcm_ignore(_("No original found: this mailbox sent no message the report names."))
        applied, strangers, hard = [], [], False
        for failure in bounce.failures:
            email = email_normalize(failure.email) or (failure.email or "").lower()
            mine = (
                traces.filtered(lambda t, email=email: email_normalize(t.email or "") == email),
                notifications.filtered(lambda n, email=email: n.res_partner_id.email_normalized == email),
                sent.filtered(lambda m, email=email: email in _addresses(m.email_to, m.email_cc)),
            )
            if not any(mine):
                strangers.append(email)
                continue
            applied.append(email)
            if failure.hard:
                hard = self._mcm_hard_bounce(failure, email, *mine) or hard
            else:
                self._mcm_soft_bounce(failure, *mine)
        if not applied:
            return self._mcm_ignore(
                _("A recipient we never mailed: %(addresses)s.", addresses=", ".join(strangers) or "-")
            )
        note = _("A recipient we never mailed: %(addresses)s.", addresses=", ".join(strangers)) if strangers else False
        if by_recipient:
            note = _(
                "The report names no message: applied to what this mailbox last sent to the address, "
                "in the %(days)s days before it.",
                days=RECIPIENT_MATCH_DAYS,
            ) + (" " + note if note else "")
        self.write({"mcm_feedback_state": "applied", "mcm_feedback_note": note})
        return hard

    def _mcm_originals(self, ids):
        """(traces, notifications, sent rows) of this row's mailbox among ``ids``: only
        what this mailbox sent ever counts."""
        mailbox = self.mailbox_id
        Trace = self.env["mailing.trace"].sudo()
        Notification = self.env["mail.notification"].sudo()
        if not ids:
            return Trace, Notification, self.browse()
        traces = Trace.search([("mcm_mailbox_id", "=", mailbox.id), ("message_id", "in", ids)])
        notifications = Notification.search(
            [
                ("mcm_mailbox_id", "=", mailbox.id),
                ("notification_type", "=", "email"),
                ("mail_message_id.message_id", "in", ids),
            ]
        )
        sent = (
            self.sudo()
            .with_context(active_test=False)
            .search([("mailbox_id", "=", mailbox.id), ("kind", "=", "odoo"), ("message_id_header", "in", ids)])
        )
        return traces, notifications, sent

    def _mcm_recently_sent_to(self, emails):
        """(traces, notifications) of this row's mailbox: the newest campaign message and
        the newest chatter message it sent to each of ``emails`` in the RECIPIENT_MATCH_DAYS
        before this row arrived (a report without the returned message's headers)."""
        mailbox = self.mailbox_id
        Trace = self.env["mailing.trace"].sudo()
        Notification = self.env["mail.notification"].sudo()
        emails = {email_normalize(email) for email in emails} - {False}
        if not emails:
            return Trace, Notification
        now = fields.Datetime.now()
        until = min(self.date or now, now)  # its Date header, never in the future
        since = until - timedelta(days=RECIPIENT_MATCH_DAYS)
        found = Trace.search(
            [
                ("mcm_mailbox_id", "=", mailbox.id),
                ("sent_datetime", ">=", since),
                ("sent_datetime", "<=", until + timedelta(minutes=5)),
                *OR([[("email", "=ilike", email)] for email in emails]),
            ],
            order="sent_datetime desc, id desc",
        )
        traces = Trace
        for email in emails:
            traces |= found.filtered(lambda t, email=email: email_normalize(t.email or "") == email)[:1]
        found = Notification.search(
            [
                ("mcm_mailbox_id", "=", mailbox.id),
                ("notification_type", "=", "email"),
                ("res_partner_id.email_normalized", "in", list(emails)),
                ("mail_message_id.date", ">=", since),
                ("mail_message_id.date", "<=", until + timedelta(minutes=5)),
            ],
        ).sorted(lambda n: (n.mail_message_id.date, n.id), reverse=True)
        notifications = Notification
        for email in emails:
            notifications |= found.filtered(lambda n, email=email: n.res_partner_id.email_normalized == email)[:1]
        return traces, notifications

    def _mcm_hard_bounce(self, failure, email, traces, notifications, sent):
        """Apply a hard failure as Odoo's gateway does (trace bounced, counters, the
        blacklist rule, the red envelope), with the Message-IDs of this mailbox alone,
        once: what is bounced already is left as it is (each call counts a bounce)."""
        traces = traces.filtered(lambda t: t.trace_status != "bounce")
        notifications = notifications.filtered(lambda n: n.notification_status != "bounce")
        if sent and self._mcm_bounced_before(email, sent):
            sent = self.browse()
        if not (traces or notifications or sent):
            return False
        ids = list(
            dict.fromkeys(
                traces.mapped("message_id")
                + notifications.mail_message_id.mapped("message_id")
                + sent.mapped("message_id_header")
            )
        )
        Message = self.env["mail.message"].sudo()
        messages = notifications.mail_message_id | sent.mail_message_id
        if not messages:  # as Odoo's gateway finds the message that bounced
            messages = Message.search([("message_id", "in", ids)])
        bounced_message = messages.sorted(lambda m: (m.create_date, m.id), reverse=True)[:1]
        partners = self.env["res.partner"].sudo().search([("email_normalized", "=", email)])
        reason = failure.reason or failure.status or _("The address does not take mail.")
        body = Markup("<p>%s</p>") % reason
        self.env["mail.thread"].sudo()._routing_handle_bounce(
            None,
            {
                "bounced_email": email,
                "bounced_partner": partners,
                "bounced_msg_ids": ids,
                "bounced_message": bounced_message,
                "body": body,
                "email_from": self.email_from,
                "to": self.email_to,
                "message_id": self.message_id_header,
            },
        )
        # the notifications of another message it names: the red envelope all the same
        others = notifications.filtered(lambda n: n.mail_message_id != bounced_message and n.res_partner_id in partners)
        others.write({"failure_reason": reason, "failure_type": "mail_bounce", "notification_status": "bounce"})
        traces.write(
            {
                "mcm_bounce_kind": "hard",
                "mcm_bounce_status": failure.status or False,
                "mcm_bounce_reason": reason,
                "mcm_bounce_date": fields.Datetime.now(),
                "mcm_bounce_message_id": self.id,
            }
        )
        touched = (notifications.mail_message_id | bounced_message).filtered(lambda m: m.model and m.res_id)
        if touched:
            touched._notify_message_notification_update()  # the envelope turns red at once
        return True

    def _mcm_bounced_before(self, email, sent):
        """Whether another bounce of this mailbox already applied ``email`` to ``sent``."""
        for message_id in sent.mapped("message_id_header"):
            if self.search_count(
                [
                    ("id", "!=", self.id),
                    ("mailbox_id", "=", self.mailbox_id.id),
                    ("mcm_feedback", "=", "bounce"),
                    ("mcm_feedback_state", "=", "applied"),
                    ("mcm_bounce_json", "ilike", message_id),
                    ("mcm_bounce_json", "ilike", email),
                ],
                limit=1,
            ):
                return True
        return False

    def _mcm_soft_bounce(self, failure, traces, notifications, _sent):
        """A passing failure: noted on the trace and the notification, nothing counted (the
        trace stays sent, so Odoo's blacklist rule never sees it); a hard one stays hard."""
        reason = failure.reason or failure.status or _("A passing delivery failure.")
        traces.filtered(lambda t: t.trace_status != "bounce" and t.mcm_bounce_kind != "hard").write(
            {
                "mcm_bounce_kind": "soft",
                "mcm_bounce_status": failure.status or False,
                "mcm_bounce_reason": reason,
                "mcm_bounce_date": fields.Datetime.now(),
                "mcm_bounce_message_id": self.id,
            }
        )
        notifications = notifications.filtered(lambda n: n.notification_status != "bounce")
        if notifications:
            notifications.write({"mcm_soft_bounce": reason})
            touched = notifications.mail_message_id.filtered(lambda m: m.model and m.res_id)
            if touched:
                touched._notify_message_notification_update()

    # -- replies
    def _mcm_reply_traces(self, traces=None):
        """The campaign traces of this row's mailbox that it answers, from their recipient
        (its sender or its Reply-To); among ``traces`` when given (looked up once)."""
        self.ensure_one()
        ids = feedback_lib.reply_ids(self.in_reply_to or "", self.references or "")
        if not ids:
            return self.env["mailing.trace"].sudo()
        if traces is None:
            traces = (
                self.env["mailing.trace"]
                .sudo()
                .search([("mcm_mailbox_id", "=", self.mailbox_id.id), ("message_id", "in", ids)])
            )
        senders = _addresses(self.email_from, self.reply_to)
        return traces.filtered(
            lambda t: (
                t.mcm_mailbox_id == self.mailbox_id
                and t.message_id in ids
                and email_normalize(t.email or "") in senders
            )
        )

    def _mcm_apply_replies(self):
        """Mark replied the campaign traces these rows answer (opened first, as Odoo's
        gateway does); the traces are looked up once for the whole batch."""
        rows = self.filtered(lambda m: m.in_reply_to or m.references)
        ids = {i for row in rows for i in feedback_lib.reply_ids(row.in_reply_to or "", row.references or "")}
        if not ids:
            return
        traces = (
            self.env["mailing.trace"]
            .sudo()
            .search([("mcm_mailbox_id", "in", rows.mailbox_id.ids), ("message_id", "in", sorted(ids))])
        )
        for row in rows if traces else ():
            answered = row._mcm_reply_traces(traces)
            if answered:
                answered.set_opened()
                answered.set_replied()
                row.write({"mcm_feedback": "reply", "mcm_feedback_state": "applied"})

    def _mcm_reply_records(self):
        """The records of the campaign recipients this reply answers (to log it on)."""
        self.ensure_one()
        records = []
        for trace in self._mcm_reply_traces():
            if trace.model in self.env and trace.res_id and isinstance(self.env[trace.model], self.pool["mail.thread"]):
                records.append(self.env[trace.model].browse(trace.res_id))
        return records
