from odoo import _, fields, models

from .mail_mailbox_send_day import FIGURES


class MailMailbox(models.Model):
    """What the mailbox's sending looks like: sent, hard and soft bounces and replies
    over the last 7 and 30 days (campaigns and chatter mail), and a graph by day."""

    _inherit = "mail.mailbox"

    mcm_sent_7 = fields.Integer("Sent (7 days)", compute="_compute_mcm_figures")
    mcm_hard_7 = fields.Integer("Hard bounces (7 days)", compute="_compute_mcm_figures")
    mcm_soft_7 = fields.Integer("Soft bounces (7 days)", compute="_compute_mcm_figures")
    mcm_replied_7 = fields.Integer("Replied (7 days)", compute="_compute_mcm_figures")
    mcm_sent_30 = fields.Integer("Sent (30 days)", compute="_compute_mcm_figures")
    mcm_hard_30 = fields.Integer("Hard bounces (30 days)", compute="_compute_mcm_figures")
    mcm_soft_30 = fields.Integer("Soft bounces (30 days)", compute="_compute_mcm_figures")
    mcm_replied_30 = fields.Integer("Replied (30 days)", compute="_compute_mcm_figures")

    def _compute_mcm_figures(self):
        figures = self.env["mail.mailbox.send.day"]._mcm_figures("mailbox_id", self.filtered("id").ids)
        for mailbox in self:
            values = figures.get(mailbox.id) or dict.fromkeys(FIGURES, 0)  # a new mailbox: nothing yet
            mailbox.update({f"mcm_{name}": value for name, value in values.items()})

    def action_mcm_open_send_days(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mail_connected_mailbox.mail_mailbox_send_day_action")
        action["name"] = action["display_name"] = _("Sending of %(mailbox)s", mailbox=self.display_name)
        action["domain"] = [("mailbox_id", "=", self.id)]
        return action
