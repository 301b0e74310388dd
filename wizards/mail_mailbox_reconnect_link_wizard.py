from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class MailMailboxReconnectLinkWizard(models.TransientModel):
    """Shows a new shareable reconnect link once, to copy. The link is made when the
    dialog opens and its token is only in that answer: the database keeps its hash,
    and this dialog never stores the link, even if it is saved."""

    _name = "mail.mailbox.reconnect.link.wizard"
    _description = "Shareable reconnect link"

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade")
    url = fields.Char("Link", readonly=True)
    expires_at = fields.Datetime("Works until", readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if "url" not in fields_list:
            return values
        mailbox_id = values.get("mailbox_id")
        refused = AccessError(_("You can only share a link for a mailbox you manage."))
        if not mailbox_id:
            raise refused
        try:
            self.env["mail.mailbox"]._check_reference(mailbox_id)
        except AccessError:
            raise refused from None
        mailbox = self.env["mail.mailbox"].browse(mailbox_id)
        mailbox._check_can_act()
        link, url = self.env["mail.mailbox.reconnect.link"]._make(mailbox)
        mailbox.message_post(
            body=_(
                "%(user)s made a shareable reconnect link (works once, until %(date)s UTC).",
                user=self.env.user.name,
                date=fields.Datetime.to_string(link.expires_at),
            )
        )
        values.update(url=url, expires_at=link.expires_at)
        return values

    @api.model_create_multi
    def create(self, vals_list):
        # the dialog may save itself when the page is left: never keep the token
        for vals in vals_list:
            vals.pop("url", None)
            self.env["mail.mailbox"]._check_reference(vals.get("mailbox_id"))
        return super().create(vals_list)
