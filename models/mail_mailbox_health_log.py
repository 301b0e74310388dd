from datetime import timedelta

from odoo import api, fields, models

KEEP_DAYS = 30
KEEP_PER_MAILBOX = 50


class MailMailboxHealthLog(models.Model):
    """One check of a mailbox's access: when, what triggered it, the result, the cause
    and the fix (the recent history shows on the mailbox)."""

    _name = "mail.mailbox.health.log"
    _description = "Mailbox check"
    _order = "id desc"

    mailbox_id = fields.Many2one("mail.mailbox", required=True, index=True, ondelete="cascade")
    trigger = fields.Selection(
        [("scheduled", "Scheduled"), ("manual", "Check access or Test"), ("send", "Sending"), ("sync", "Sync")],
        required=True,
        default="scheduled",
    )
    result = fields.Selection(
        [
            ("ok", "Works"),
            ("transient", "Passing failure"),
            ("throttled", "Throttled"),
            ("error", "Error"),
            ("auth_lost", "Access lost"),
            ("incident", "Provider or app incident"),
        ],
        required=True,
    )
    step = fields.Char()
    cause = fields.Char("Problem")
    fix = fields.Text("How to fix it")
    provider_code = fields.Char("Provider's code")
    seconds = fields.Float("Took (s)", digits=(6, 2))

    @api.autovacuum
    def _gc_old_checks(self):
        """Keep a month of history, and at most the last checks of each mailbox."""
        edge = fields.Datetime.now() - timedelta(days=KEEP_DAYS)
        self.search([("create_date", "<", edge)]).unlink()
        self.env.cr.execute(
            """DELETE FROM mail_mailbox_health_log WHERE id IN (
                   SELECT id FROM (
                       SELECT id, row_number() OVER (PARTITION BY mailbox_id ORDER BY id DESC) AS n
                       FROM mail_mailbox_health_log) ranked
                   WHERE n > %s)""",
            (KEEP_PER_MAILBOX,),
        )
