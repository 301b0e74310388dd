from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    mailbox_ids = fields.One2many("mail.mailbox", "user_id", string="Mailboxes")

    # Readable from My Preferences; never writeable from there: res.users writes its
    # self-writeable fields as superuser, which would bypass the mailbox record rules.
    @property
    def SELF_READABLE_FIELDS(self):
        return [*super().SELF_READABLE_FIELDS, "mailbox_ids"]
