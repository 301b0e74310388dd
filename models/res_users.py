from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    mailbox_ids = fields.One2many("mail.mailbox", "user_id", string="Mailboxes")

    @property
    def SELF_READABLE_FIELDS(self):
        return [*super().SELF_READABLE_FIELDS, "mailbox_ids"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return [*super().SELF_WRITEABLE_FIELDS, "mailbox_ids"]
