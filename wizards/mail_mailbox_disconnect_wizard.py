from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class MailMailboxDisconnectWizard(models.TransientModel):
    _name = "mail.mailbox.disconnect.wizard"
    _description = "Disconnect a mailbox"

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade")
    synced_data = fields.Selection(
        [("keep", "Keep what was synced"), ("delete", "Delete what was synced")],
        required=True,
        default="keep",
        help="Keep: the mail already logged in Odoo stays. Delete: folders and synced mail are removed from Odoo "
        "(never from the mailbox itself).",
    )
    removal = fields.Text("What Delete removes", compute="_compute_removal")

    @api.depends("mailbox_id")
    def _compute_removal(self):
        for wizard in self:
            if not wizard.mailbox_id:
                wizard.removal = False
                continue
            messages = (
                self.env["mail.mailbox.message"]
                .sudo()
                .with_context(active_test=False)
                .search([("mailbox_id", "=", wizard.mailbox_id.id)])
            )
            attachments = (
                self.env["ir.attachment"]
                .sudo()
                .search_count([("res_model", "=", messages._name), ("res_id", "in", messages.ids)])
            )
            copies = self.env["mail.message"].sudo().search_count([("mcm_message_id", "in", messages.ids)])
            wizard.removal = _(
                "%(messages)s synced messages, %(attachments)s attachments and %(copies)s copies logged in the "
                "chatter of contacts and leads, and the folders' sync state.",
                messages=len(messages),
                attachments=attachments,
                copies=copies,
            )

    @api.model
    def _check_mailbox(self, mailbox_id):
        """Only a mailbox the user may change; the same answer whether it exists or not."""
        try:
            self.env["mail.mailbox"]._check_reference(mailbox_id)
        except AccessError:
            raise AccessError(_("You can only disconnect a mailbox you manage.")) from None

    def onchange(self, values, field_names, fields_spec):
        self._check_mailbox(values.get("mailbox_id"))
        return super().onchange(values, field_names, fields_spec)

    @api.model
    def default_get(self, fields):
        values = super().default_get(fields)
        self._check_mailbox(values.get("mailbox_id"))
        return values

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_mailbox(vals.get("mailbox_id"))
        return super().create(vals_list)

    def write(self, vals):
        self._check_mailbox(vals.get("mailbox_id"))
        return super().write(vals)

    def action_confirm(self):
        self.ensure_one()
        self.mailbox_id._check_can_act()
        self.mailbox_id._disconnect(self.synced_data == "delete")
        return {"type": "ir.actions.act_window_close", "infos": {"done": True}}
