"""What the web client learns without a reload, over Odoo's bus.

* ``mail_connected_mailbox/changed`` (``{"ids": [...]}``): a mailbox's form, list or
  cards show something new (a sync round, a check, a status); an open view of it
  reloads (``static/src/live/``).
* ``mail_connected_mailbox/attention``: the owner's mailboxes that need attention
  changed; the top-bar indicator asks :meth:`get_attention_mailboxes` again
  (``static/src/systray/``).
* a ``simple_notification`` (Odoo's own toast) when a backfill is over.

Sent to the owner, and status changes also to every mailbox administrator (the health
board). The bus sends at commit: a round of the cron or a button's transaction.
"""

from odoo import api, models

from .mail_mailbox import ADMIN_GROUP

CHANGED = "mail_connected_mailbox/changed"
ATTENTION = "mail_connected_mailbox/attention"
ATTENTION_STATES = ("auth_lost", "throttled", "error")  # the "Needs attention" filter


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    def _live_partners(self, admins=False):
        """Who sees these mailboxes change live: their owners (and mailbox administrators)."""
        partners = self.sudo().user_id.partner_id
        if admins:
            partners |= self.env.ref(ADMIN_GROUP).sudo().users.filtered("active").partner_id
        return partners

    def _send_live_changed(self, admins=False):
        """Tell the open views of these mailboxes to reload them."""
        if not self:
            return
        for partner in self._live_partners(admins):
            partner._bus_send(CHANGED, {"ids": self.ids})

    def _send_live_status(self):
        """The status changed: views reload, the owners' top-bar indicator looks again."""
        self._send_live_changed(admins=True)
        for partner in self._live_partners():
            partner._bus_send(ATTENTION, {"ids": self.ids})

    def _send_live_toast(self, title, message, kind="success"):
        """Odoo's own toast, shown to the owner wherever they are in Odoo."""
        self.ensure_one()
        self._live_partners()._bus_send(
            "simple_notification", {"title": title, "message": message, "type": kind, "sticky": False}
        )

    @api.model
    def get_attention_mailboxes(self):
        """The current user's own mailboxes that need attention, for the top bar: what
        happened and how to fix it, as the form says."""
        if not self.has_access("read"):  # a user without the app: no indicator
            return []
        mailboxes = self.search(
            [("user_id", "=", self.env.uid), ("state", "in", ATTENTION_STATES)], order="state_changed_at desc"
        )
        labels = dict(self._fields["state"]._description_selection(self.env))
        return [
            {
                "id": mailbox.id,
                "name": mailbox.display_name,
                "email": mailbox.email,
                "state": mailbox.state,
                "state_label": labels[mailbox.state],
                "cause": mailbox.last_error_cause or "",
                "fix": mailbox.last_error_fix or "",
                # throttled mailboxes retry by themselves: nothing to click
                "can_reconnect": mailbox.state in ("auth_lost", "error"),
            }
            for mailbox in mailboxes
        ]
