from odoo import fields, models


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

    def action_confirm(self):
        self.ensure_one()
        self.mailbox_id.check_access("write")
        self.mailbox_id._disconnect(self.synced_data == "delete")
        return {"type": "ir.actions.act_window_close", "infos": {"done": True}}
