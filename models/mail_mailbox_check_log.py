from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class MailMailboxCheckLog(models.Model):
    """When a user started a connection check of a custom server: the per-user rate limit.

    No access rights: only the server writes and reads it.
    """

    _name = "mail.mailbox.check.log"
    _description = "Mailbox connection check (rate limit)"
    _log_access = False

    user_id = fields.Many2one("res.users", required=True, ondelete="cascade", index=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)

    @api.model
    def _count_check(self, per_minute):
        """Record a check by the current user; refuse it beyond ``per_minute`` a minute."""
        since = fields.Datetime.now() - timedelta(minutes=1)
        recent = self.sudo().search([("user_id", "=", self.env.uid), ("date", ">", since)], order="date")
        if len(recent) >= per_minute:
            wait = max(1, int((recent[0].date + timedelta(minutes=1) - fields.Datetime.now()).total_seconds()))
            raise UserError(
                _(
                    "You started %(count)s connection tests in the last minute, the most Odoo allows. "
                    "Wait %(seconds)s seconds, then try again.",
                    count=len(recent),
                    seconds=wait,
                )
            )
        self.sudo().create({"user_id": self.env.uid})

    @api.autovacuum
    def _gc_check_log(self):
        self.sudo().search([("date", "<", fields.Datetime.now() - timedelta(days=1))]).unlink()
