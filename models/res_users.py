from odoo import _, api, fields, models
from odoo.tools import email_normalize


class ResUsers(models.Model):
    _inherit = "res.users"

    mailbox_ids = fields.One2many("mail.mailbox", "user_id", string="Mailboxes")
    mcm_mail_notify = fields.Selection(
        [
            ("none", "Nothing"),
            ("known", "New mail from contacts and leads"),
            ("all", "All new mail"),
        ],
        "Tell me of new mail",
        default="none",
        required=True,
        help="An Odoo notification when your mailboxes' sync brings new mail. New mail from contacts and leads: "
        "when it is logged on one of them, with a link to it. All new mail: also every other new message of your "
        "Inbox, with a link that opens it in My mail (one notification for many messages at once).",
    )
    mcm_new_mail_notify = fields.Boolean(
        "Tell me of new mail from contacts and leads",
        compute="_compute_mcm_new_mail_notify",
        inverse="_inverse_mcm_new_mail_notify",
        help="An Odoo notification, with a link to the contact or lead, when mail synced from your mailboxes "
        "is logged on one of them (also told when you asked for all new mail).",
    )

    mcm_address_notice = fields.Char("My Odoo mail and my mailboxes", compute="_compute_mcm_address_notice")

    @api.depends("mcm_mail_notify")
    def _compute_mcm_new_mail_notify(self):
        for user in self:  # all new mail takes in the mail from contacts and leads
            user.mcm_new_mail_notify = user.mcm_mail_notify in ("known", "all")

    def _inverse_mcm_new_mail_notify(self):
        for user in self:
            if not user.mcm_new_mail_notify:
                user.mcm_mail_notify = "none"
            elif user.mcm_mail_notify == "none":
                user.mcm_mail_notify = "known"

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
        return [
            *super().SELF_READABLE_FIELDS,
            "mailbox_ids",
            "mcm_mail_notify",
            "mcm_new_mail_notify",
            "mcm_address_notice",
        ]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        # plain choices of one's own
        return [*super().SELF_WRITEABLE_FIELDS, "mcm_mail_notify", "mcm_new_mail_notify"]
