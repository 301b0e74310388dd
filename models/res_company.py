from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

MIN_BOUNCE_WINDOW = 10


class ResCompany(models.Model):
    """When a connected mailbox bounces too much: the company's limit, which its users'
    mailboxes follow unless a mailbox sets its own."""

    _inherit = "res.company"

    mcm_bounce_window = fields.Integer(
        "Bounce rate over the last (messages)",
        default=100,
        help="How many of a mailbox's latest campaign messages its hard-bounce rate is counted over.",
    )
    mcm_bounce_max_rate = fields.Float(
        "Pause campaigns above (% hard bounces)",
        default=5.0,
        help="A mailbox whose hard-bounce rate goes above this pauses every campaign sending through it.",
    )

    @api.constrains("mcm_bounce_window", "mcm_bounce_max_rate")
    def _check_mcm_bounce_limits(self):
        for company in self:
            if company.mcm_bounce_window < MIN_BOUNCE_WINDOW:
                raise ValidationError(
                    _(
                        "Count the bounce rate over %(minimum)s messages at least (%(window)s given): over fewer, "
                        "one bounce pauses every campaign of the mailbox.",
                        minimum=MIN_BOUNCE_WINDOW,
                        window=company.mcm_bounce_window,
                    )
                )
            if not 0 < company.mcm_bounce_max_rate <= 100:
                raise ValidationError(
                    _(
                        "The bounce rate that pauses campaigns is a percentage above 0 and at most 100 "
                        "(%(rate)s given): 5 pauses a mailbox when more than 5 of 100 messages bounce.",
                        rate=company.mcm_bounce_max_rate,
                    )
                )
