from odoo import api, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)  # a quick action on a synced message prefills its form
        return self.env["mail.mailbox.message"]._mcm_prefilled(self._name, fields_list, values)

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if not self.env.context.get("install_mode"):  # made after the sync: the earlier mail is logged on it
            self.env["mail.mailbox.message"].sudo()._log_past_mail(records)
            # made from a synced message (a quick action): that message too, whatever the mailbox logs
            self.env["mail.mailbox.message"]._mcm_log_asked(records)
        return records

    def action_mcm_log_past_mail(self):
        """Log on it the synced mail of the backfill window with its address."""
        return self.env["mail.mailbox.message"]._action_log_past_mail(self)
