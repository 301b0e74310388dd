from odoo import fields, models


class MailMailboxMessageFeedback(models.Model):
    """What a synced message says of the mailbox's own sending: a bounce of a message it
    sent, or a reply to one of its campaigns; applied to the traces and notifications of
    that mailbox only, once."""

    _inherit = "mail.mailbox.message"

    mcm_feedback = fields.Selection(
        [("bounce", "Bounce"), ("reply", "Campaign reply")], string="Feedback", readonly=True, index="btree_not_null"
    )
    mcm_bounce_json = fields.Text("Delivery report", readonly=True, help="The failures the bounce reports, as read.")
    mcm_feedback_state = fields.Selection([("applied", "Applied"), ("ignored", "Ignored")], readonly=True)
    mcm_feedback_note = fields.Char("Why ignored", readonly=True)
    mcm_auto_submitted = fields.Boolean("Sent by a machine", readonly=True)
