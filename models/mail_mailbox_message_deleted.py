"""What a user deleted in Odoo, by mailbox and key alone (no content): the sync keeps it
out (an Enable, a backfill, a renumbered folder would otherwise fetch it again) until
the mailbox's owner asks for the deleted messages again. Server only: no user reads it."""

from odoo import api, fields, models
from odoo.tools import SQL


class MailMailboxMessageDeleted(models.Model):
    _name = "mail.mailbox.message.deleted"
    _description = "Synced message deleted in Odoo"
    _log_access = False
    _allow_sudo_commands = False

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True)
    message_key = fields.Char(required=True, help="The key (a digest of the Message-ID) of the deleted message.")
    deleted_at = fields.Datetime(default=fields.Datetime.now)

    _sql_constraints = [
        ("mailbox_key_uniq", "unique(mailbox_id, message_key)", "A deleted message is remembered once per mailbox."),
    ]

    @api.model
    def _remember(self, pairs):
        """Remember ``pairs`` ((mailbox id, key)); those remembered already stay as they are."""
        pairs = sorted(set(pairs))
        if pairs:
            self.env.cr.execute(
                SQL(
                    "INSERT INTO mail_mailbox_message_deleted (mailbox_id, message_key, deleted_at) VALUES %s "
                    "ON CONFLICT (mailbox_id, message_key) DO NOTHING",
                    SQL(", ").join(SQL("(%s, %s, now() at time zone 'UTC')", mid, key) for mid, key in pairs),
                )
            )
