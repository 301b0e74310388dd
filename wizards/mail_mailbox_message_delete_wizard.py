from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class MailMailboxMessageDeleteWizard(models.TransientModel):
    """Delete synced messages, after a confirmation that says what happens to the
    mailbox's copy: moved to its Trash (deleted for good where it has none) when the
    mailbox is set to *Delete in the mailbox what is deleted in Odoo*, else left in the
    mailbox and only forgotten by Odoo. Either way, later syncs never bring them back."""

    _name = "mail.mailbox.message.delete.wizard"
    _description = "Delete synced messages"

    message_ids = fields.Many2many("mail.mailbox.message", string="Messages", required=True)
    summary = fields.Html(compute="_compute_summary", sanitize=False)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if "message_ids" in fields_list and self.env.context.get("active_model") == "mail.mailbox.message":
            messages = self.env["mail.mailbox.message"].browse(self.env.context.get("active_ids") or []).exists()
            messages.check_access("read")
            values["message_ids"] = [fields.Command.set(messages.ids)]
        return values

    @api.depends("message_ids")
    def _compute_summary(self):
        for wizard in self:
            lines = []
            for mailbox in wizard.message_ids.mailbox_id:
                count = len(wizard.message_ids.filtered(lambda m, mb=mailbox: m.mailbox_id == mb))
                if mailbox.delete_on_server:
                    line = _(
                        "%(count)s from %(address)s: also deleted in the mailbox (moved to its Trash, or deleted "
                        "for good where it has none).",
                        count=count,
                        address=mailbox.email,
                    )
                else:
                    line = _(
                        "%(count)s from %(address)s: hidden in Odoo only, the mailbox keeps its copy (to delete it "
                        "there too, turn on “Delete in the mailbox what is deleted in Odoo” on the mailbox).",
                        count=count,
                        address=mailbox.email,
                    )
                lines.append(Markup("<li>%s</li>") % line)
            wizard.summary = Markup("<p>%s</p><ul>%s</ul><p>%s</p>") % (
                _("Delete %(count)s messages from Odoo?", count=len(wizard.message_ids)),
                Markup("").join(lines),
                _("Later syncs do not bring them back; their copies in the chatter of contacts and leads stay."),
            )

    def action_delete(self):
        self.ensure_one()
        if not self.message_ids:
            raise UserError(_("These messages are already deleted: reload the list."))
        refused = self.message_ids.action_delete()
        if refused.get("tag") == "display_notification":
            return refused  # the server refused: nothing was deleted, the notification says why
        return {"type": "ir.actions.act_window_close"}
