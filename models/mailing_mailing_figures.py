from odoo import _, api, fields, models

from .mail_mailbox_send_day import FIGURES


class MailingMailing(models.Model):
    """A campaign sent through a connected mailbox: its sent, hard and soft bounces
    and replies over the last 7 and 30 days, and its graph by day."""

    _inherit = "mailing.mailing"

    mcm_through_mailbox = fields.Boolean(
        "Sends through a mailbox",
        compute="_compute_mcm_figures",
        help="Its mail leaves through a user's connected mailbox (or has left through one).",
    )
    mcm_sent_7 = fields.Integer("Sent (7 days)", compute="_compute_mcm_figures")
    mcm_hard_7 = fields.Integer("Hard bounces (7 days)", compute="_compute_mcm_figures")
    mcm_soft_7 = fields.Integer("Soft bounces (7 days)", compute="_compute_mcm_figures")
    mcm_replied_7 = fields.Integer("Replied (7 days)", compute="_compute_mcm_figures")
    mcm_sent_30 = fields.Integer("Sent (30 days)", compute="_compute_mcm_figures")
    mcm_hard_30 = fields.Integer("Hard bounces (30 days)", compute="_compute_mcm_figures")
    mcm_soft_30 = fields.Integer("Soft bounces (30 days)", compute="_compute_mcm_figures")
    mcm_replied_30 = fields.Integer("Replied (30 days)", compute="_compute_mcm_figures")

    @api.depends("mail_server_id", "email_from", "mcm_mailbox_id")
    def _compute_mcm_figures(self):
        saved = self.filtered("id")
        figures = self.env["mail.mailbox.send.day"]._mcm_figures("mailing_id", saved.ids)
        for mailing in self:
            values = figures.get(mailing.id) or dict.fromkeys(FIGURES, 0)  # a new campaign: nothing yet
            mailing.update({f"mcm_{name}": value for name, value in values.items()})
            mailing.mcm_through_mailbox = bool(
                values["sent_30"] or (mailing.id and (mailing.sudo().mcm_mailbox_id or mailing.sudo()._mcm_mailbox()))
            )

    def action_mcm_open_send_days(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mail_connected_mailbox.mail_mailbox_send_day_action")
        action["name"] = action["display_name"] = _("Sending of %(mailing)s", mailing=self.display_name)
        action["domain"] = [("mailing_id", "=", self.id)]
        return action
