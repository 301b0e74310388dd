from odoo import api, fields, models
from odoo.tools import SQL

from ..mailbox_engine import limits as limits_lib


class MailMailboxSendUsage(models.Model):
    """What a mailbox sent in its current minute and day: the sending limiter's memory.
    One row per mailbox, read and written under a row lock, so two processes sending
    for the same mailbox never both see room for the same messages (under REPEATABLE
    READ the later one fails and is retried).

    No access rights: only the server reads and writes it.
    """

    _name = "mail.mailbox.send.usage"
    _description = "Mailbox sending usage"
    _log_access = False

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade")
    minute_start = fields.Datetime()
    minute_count = fields.Integer()
    day_start = fields.Datetime()
    day_count = fields.Integer()
    day_recipients = fields.Integer()

    _sql_constraints = [("mailbox_uniq", "unique(mailbox_id)", "One usage row per mailbox.")]

    @api.model
    def _take(self, mailbox, recipients):
        """How many of the waiting messages (``recipients``: recipient counts, oldest
        first) may leave now, and when the next may: ``(allowed, next_time)``."""
        limits = limits_lib.Limits(mailbox.send_limit_minute, mailbox.send_limit_day, mailbox.send_limit_recipients_day)
        if limits == limits_lib.Limits():
            return len(recipients), None
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "INSERT INTO mail_mailbox_send_usage (mailbox_id, minute_count, day_count, day_recipients) "
                "VALUES (%s, 0, 0, 0) ON CONFLICT (mailbox_id) DO NOTHING",
                mailbox.id,
            ),
            log_exceptions=False,  # a serialization failure is expected under concurrency: retried
        )
        self.env.cr.execute(
            SQL("SELECT id FROM mail_mailbox_send_usage WHERE mailbox_id = %s FOR UPDATE", mailbox.id),
            log_exceptions=False,
        )
        row = self.sudo().browse(self.env.cr.fetchone()[0])
        row.invalidate_recordset()
        usage = limits_lib.Usage(
            row.minute_start or None, row.minute_count, row.day_start or None, row.day_count, row.day_recipients
        )
        allowed, next_time = limits_lib.allow(limits, usage, fields.Datetime.now(), recipients)
        row.write(
            {
                "minute_start": usage.minute_start,
                "minute_count": usage.minute_count,
                "day_start": usage.day_start,
                "day_count": usage.day_count,
                "day_recipients": usage.day_recipients,
            }
        )
        return allowed, next_time
