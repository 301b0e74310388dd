from odoo import _, api, fields, models
from odoo.exceptions import AccessError

# the fields this addon keeps on traces; Odoo writes them from the mailbox, never a user
MCM_TRACE_FIELDS = {
    "mcm_mailbox_id",
    "mcm_bounce_kind",
    "mcm_bounce_status",
    "mcm_bounce_reason",
    "mcm_bounce_date",
    "mcm_bounce_message_id",
}


class MailingTrace(models.Model):
    """Which connected mailbox a campaign message left through, and what its bounce
    (found in that mailbox's synced mail) said: hard or soft, the status and the reason."""

    _inherit = "mailing.trace"

    mcm_mailbox_id = fields.Many2one(
        "mail.mailbox", string="Sent through mailbox", index="btree_not_null", ondelete="set null", readonly=True
    )
    mcm_bounce_kind = fields.Selection(
        [("hard", "Hard"), ("soft", "Soft")],
        string="Bounce",
        readonly=True,
        help="Hard: the address does not take mail (5.x.x). Soft: a passing failure (4.x.x), "
        "which does not count toward the blacklist.",
    )
    mcm_bounce_status = fields.Char(
        "Bounce status", readonly=True, help="The status code the reporting server gave, as 5.1.1."
    )
    mcm_bounce_reason = fields.Char("Bounce reason", readonly=True)
    mcm_bounce_date = fields.Datetime("Bounced on", readonly=True)
    mcm_bounce_message_id = fields.Many2one(
        "mail.mailbox.message", string="Bounce message", ondelete="set null", readonly=True
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(MCM_TRACE_FIELDS & vals.keys() for vals in vals_list):
            raise AccessError(_("Odoo records what the mailbox said of a campaign message itself."))
        return super().create(vals_list)

    def write(self, vals):
        if MCM_TRACE_FIELDS & vals.keys() and not self.env.su:
            raise AccessError(_("Odoo records what the mailbox said of a campaign message itself."))
        return super().write(vals)
