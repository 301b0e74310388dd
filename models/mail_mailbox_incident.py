from odoo import _, api, fields, models

from ..mailbox_engine import providers
from .mail_mailbox import ADMIN_GROUP


class MailMailboxIncident(models.Model):
    """An incident of an OAuth app or of a provider, not of one mailbox: the app's
    secret expired or was refused, or many mailboxes of one provider fail at once.
    The administrators are told once, with the fix; the mailboxes are not marked
    "Access lost" and their owners are not alerted one by one."""

    _name = "mail.mailbox.incident"
    _description = "Mailbox provider incident"
    _order = "id desc"

    provider = fields.Selection([(p.code, p.label) for p in providers.PROVIDERS.values()], required=True)
    kind = fields.Selection([("app", "The OAuth app is refused"), ("outage", "Provider outage")], required=True)
    cause = fields.Char(required=True)
    fix = fields.Text()
    provider_code = fields.Char("Provider's code")
    mailbox_count = fields.Integer("Mailboxes affected")
    opened_at = fields.Datetime(required=True, default=fields.Datetime.now)
    closed_at = fields.Datetime()

    @api.model
    def _open(self, incident):
        """Record ``incident`` (from ``mailbox_engine.health.incidents``); alert the
        administrators the first time only (an incident already open is updated)."""
        current = self.search(
            [("provider", "=", incident.provider), ("kind", "=", incident.kind), ("closed_at", "=", False)], limit=1
        )
        mailbox = self.env["mail.mailbox"].browse(incident.mailbox_ids[0])
        cause, fix = mailbox._render_diagnosis(incident.diagnosis)
        count = len(incident.mailbox_ids)
        if current:
            current.write({"mailbox_count": max(count, current.mailbox_count)})
            return current
        record = self.create(
            {
                "provider": incident.provider,
                "kind": incident.kind,
                "cause": cause,
                "fix": fix,
                "provider_code": incident.diagnosis.provider_code,
                "mailbox_count": count,
            }
        )
        record._alert_administrators()
        return record

    @api.model
    def _close(self, provider_codes):
        """A provider whose mailboxes work again: its open incidents end."""
        self.search([("provider", "in", list(provider_codes)), ("closed_at", "=", False)]).write(
            {"closed_at": fields.Datetime.now()}
        )

    def _alert_administrators(self):
        self.ensure_one()
        label = providers.PROVIDERS[self.provider].label
        if self.kind == "app":
            subject = _("%(provider)s refuses Odoo's app: every %(provider)s mailbox is affected", provider=label)
        else:
            subject = _("%(provider)s is failing for many mailboxes at once", provider=label)
        body = _(
            "<p>%(cause)s</p><p>%(fix)s</p><p>%(count)s mailboxes are affected. Their owners were not alerted "
            "one by one and their mailboxes keep their status: Odoo checks again by itself.</p>",
            cause=self.cause,
            fix=self.fix or "",
            count=self.mailbox_count,
        )
        admins = self.env.ref(ADMIN_GROUP).sudo().users | self.env.ref("base.group_system").sudo().users
        self.env["mail.mailbox"]._tell(admins.filtered("active").partner_id, subject, body)
