from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..models.mail_mailbox import counted


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
                "%(messages)s, %(attachments)s and %(copies)s logged in the chatter of contacts and leads, and the "
                "folders' sync state.",
                messages=counted(
                    self.env, len(messages), _("%(count)s synced message"), _("%(count)s synced messages")
                ),
                attachments=counted(self.env, attachments, _("%(count)s attachment"), _("%(count)s attachments")),
                copies=counted(self.env, copies, _("%(count)s copy"), _("%(count)s copies")),
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
        mailbox = self.mailbox_id
        mailbox._check_can_act()
        mailbox._disconnect(self.synced_data == "delete")
        return self._done_action(mailbox)

    def _done_action(self, mailbox):
        """Say it is done, and go on: back to the mailboxes, where New connects another."""
        next_action = self.env["ir.actions.act_window"]._for_xml_id("mail_connected_mailbox.mail_mailbox_action")
        next_action["target"] = "main"
        if self.synced_data == "delete":
            message = _(
                "%(address)s is disconnected and archived: Odoo removed its credentials and what it had synced. "
                "Click New to connect a mailbox.",
                address=mailbox.email or mailbox.display_name,
            )
        else:
            message = _(
                "%(address)s is disconnected and archived: Odoo removed its credentials and kept what it had "
                "synced. Click New to connect a mailbox, or restore this one from the Archived filter.",
                address=mailbox.email or mailbox.display_name,
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": _("Mailbox disconnected"), "message": message, "type": "success", "next": next_action},
        }
