"""Where the server keeps a synced message: one row per folder and UID (Gmail's labels
are its places). Its own file, loaded before the message: its table is also the
relation of the message's ``folder_ids``, so it must be made (with its ``id``) first."""

from odoo import fields, models


class MailMailboxMessagePlace(models.Model):
    _name = "mail.mailbox.message.place"
    _description = "Where the server keeps a synced message"
    _allow_sudo_commands = False

    message_id = fields.Many2one("mail.mailbox.message", required=True, ondelete="cascade", index=True)
    folder_id = fields.Many2one("mail.mailbox.folder", required=True, ondelete="cascade", index=True)
    uid = fields.Integer("UID", required=True)
    flags = fields.Char()

    _sql_constraints = [
        ("folder_uid_uniq", "unique(folder_id, uid)", "A UID names one message in a folder."),
    ]
