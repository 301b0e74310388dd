from odoo import _, api, fields, models
from odoo.tools import email_normalize


class ResUsers(models.Model):
    _inherit = "res.users"

    mailbox_ids = fields.One2many("mail.mailbox", "user_id", string="Mailboxes")
    mcm_new_mail_notify = fields.Boolean(
        "Tell me of new mail from contacts and leads",
        help="An Odoo notification, with a link to the contact or lead, when mail synced from your mailboxes "
        "is logged on one of them.",
    )

    mcm_address_notice = fields.Char("My Odoo mail and my mailboxes", compute="_compute_mcm_address_notice")

    @api.depends("email", "mailbox_ids.email_normalized", "mailbox_ids.active")
    def _compute_mcm_address_notice(self):
        """Said in Preferences when the user's Odoo email is none of her mailboxes'
        addresses: her mail then goes through none of them."""
        for user in self:
            mailboxes = user.sudo().mailbox_ids.filtered("email_normalized")
            address = email_normalize(user.email or "")
            if not mailboxes or address in mailboxes.mapped("email_normalized"):
                user.mcm_address_notice = False
                continue
            user.mcm_address_notice = _(
                "Your Odoo email is %(odoo_email)s, which is none of your mailboxes (%(addresses)s): the mail you "
                "send from Odoo leaves from %(odoo_email)s and goes through none of them. Click Send my Odoo mail "
                "from this mailbox on the mailbox it should leave from.",
                odoo_email=user.email or _("empty"),
                addresses=", ".join(mailboxes.mapped("email")),
            )

    # Readable from My Preferences; never writeable from there: res.users writes its
    # self-writeable fields as superuser, which would bypass the mailbox record rules.
    @property
    def SELF_READABLE_FIELDS(self):
        return [*super().SELF_READABLE_FIELDS, "mailbox_ids", "mcm_new_mail_notify", "mcm_address_notice"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return [*super().SELF_WRITEABLE_FIELDS, "mcm_new_mail_notify"]  # a plain flag of one's own
