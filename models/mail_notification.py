from odoo import _, api, fields, models
from odoo.exceptions import AccessError

# the fields this addon keeps on notifications; Odoo writes them, never a user
MCM_NOTIFICATION_FIELDS = {"mcm_mailbox_id", "mcm_sent_copy", "mcm_soft_bounce"}


class MailNotification(models.Model):
    """Which connected mailbox an email notification went through (and whether its copy
    is in the mailbox's Sent folder), and why one waits: told to the chatter, whose
    envelope and its popover show it."""

    _inherit = "mail.notification"

    mcm_mailbox_id = fields.Many2one(
        "mail.mailbox", string="Sent through mailbox", index="btree_not_null", ondelete="set null", readonly=True
    )
    mcm_sent_copy = fields.Boolean("Copy in the mailbox's Sent folder", readonly=True)
    mcm_soft_bounce = fields.Char(
        "Passing delivery failure",
        readonly=True,
        help="What the recipient's server reported of a passing failure (a soft bounce, 4.x.x) that came back "
        "to the mailbox: the message is not marked bounced, the server may still deliver it.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(MCM_NOTIFICATION_FIELDS & vals.keys() for vals in vals_list):
            raise AccessError(_("Odoo records which mailbox a message went through itself."))
        return super().create(vals_list)

    def write(self, vals):
        if MCM_NOTIFICATION_FIELDS & vals.keys() and not self.env.su:
            raise AccessError(_("Odoo records which mailbox a message went through itself."))
        return super().write(vals)

    def _to_store(self, store, /):
        result = super()._to_store(store)
        for notification in self:
            store.add(notification, notification._mcm_store_values())
        return result

    def _mcm_store_values(self):
        """What the chatter shows of this notification: the mailbox it went through and
        its Sent copy, or why it waits and when it leaves (in the reader's words: a
        mailbox the reader may not read is named by its owner, not its address)."""
        self.ensure_one()
        values = {"mcm_through": False, "mcm_waiting": False, "mcm_reason": False, "mcm_leaves": False}
        notification = self.sudo()
        if notification.notification_type != "email":
            return values
        mail = notification.mail_mail_id
        if notification.notification_status in ("ready", "process") and mail.state == "outgoing":
            if mail.mcm_hold_reason and mail.mcm_mailbox_id:
                label = mail.mcm_mailbox_id._mcm_label(self.env)
                cause, leaves = mail.mcm_mailbox_id._mcm_waiting_texts(label)
                if mail.mcm_mailbox_id.state == "connected" and mail.mcm_mailbox_id.active and not mail.mailing_id:
                    cause, leaves = mail.mcm_hold_reason, False  # released in a moment: what was recorded
                values.update(mcm_waiting=True, mcm_reason=cause, mcm_leaves=leaves)
            elif mail.mcm_wait_reason:
                values.update(mcm_waiting=True, mcm_reason=mail.mcm_wait_reason)
            return values
        mailbox = notification.mcm_mailbox_id
        if mailbox and notification.notification_status in ("sent", "pending"):
            label = mailbox._mcm_label(self.env)
            if notification.mcm_sent_copy:
                text = _("Sent through %(mailbox)s; a copy is in its Sent folder.", mailbox=label)
            elif mailbox.provider != "imap":
                text = _("Sent through %(mailbox)s; its provider keeps the copy in its Sent folder.", mailbox=label)
            else:
                text = _("Sent through %(mailbox)s.", mailbox=label)
            if notification.mcm_soft_bounce:
                text += " " + _(
                    "The recipient's server reported a passing failure (%(reason)s): it may still deliver it.",
                    reason=notification.mcm_soft_bounce,
                )
            values["mcm_through"] = text
        return values
