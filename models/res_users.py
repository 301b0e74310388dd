from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    mailbox_ids = fields.One2many("mail.mailbox", "user_id", string="Mailboxes")
    mcm_new_mail_notify = fields.Boolean(
        "Tell me of new mail from contacts and leads",
        help="An Odoo notification, with a link to the contact or lead, when mail synced from your mailboxes "
        "is logged on one of them.",
    )

    # Readable from My Preferences; never writeable from there: res.users writes its
    # self-writeable fields as superuser, which would bypass the mailbox record rules.
    @property
    def SELF_READABLE_FIELDS(self):
        return [*super().SELF_READABLE_FIELDS, "mailbox_ids", "mcm_new_mail_notify"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return [*super().SELF_WRITEABLE_FIELDS, "mcm_new_mail_notify"]  # a plain flag of one's own
