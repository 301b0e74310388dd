from markupsafe import Markup

from odoo import _, api, fields, models

from ..mailbox_engine import providers
from ..mailbox_engine.diagnosis import shown
from .mail_mailbox import ADMIN_GROUP, counted

TEXT_MAX = 600  # characters of the cause or the fix in the administrators' alert


class MailMailboxIncident(models.Model):
    """An incident of an OAuth app or of a provider, not of one mailbox: the app's
    secret expired or was refused, or many mailboxes of one provider fail at once
    (Google, Microsoft, or a custom server that mailboxes of several owners use: one
    user's own server is never an incident). The administrators are told once, with
    the fix; the mailboxes are not marked "Access lost" and their owners are not
    alerted one by one."""

    _name = "mail.mailbox.incident"
    _description = "Mailbox provider incident"
    _order = "id desc"

    provider = fields.Selection([(p.code, p.label) for p in providers.PROVIDERS.values()], required=True)
    kind = fields.Selection([("app", "The OAuth app is refused"), ("outage", "Provider outage")], required=True)
    cause = fields.Char(required=True)
    fix = fields.Text()
    host = fields.Char("Server", help="The custom server this incident is about (empty: the whole provider).")
    provider_code = fields.Char("Provider's code")
    mailbox_count = fields.Integer("Mailboxes affected")
    opened_at = fields.Datetime(required=True, default=fields.Datetime.now)
    closed_at = fields.Datetime()

    @api.model
    def _open(self, incident):
        """Record ``incident`` (from ``mailbox_engine.health.incidents``); alert the
        administrators the first time only (an incident already open is updated)."""
        current = self.search(
            [
                ("provider", "=", incident.provider),
                ("host", "=", incident.host or False),
                ("kind", "=", incident.kind),
                ("closed_at", "=", False),
            ],
            limit=1,
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
                "host": incident.host or False,
                "cause": cause,
                "fix": fix,
                "provider_code": incident.diagnosis.provider_code,
                "mailbox_count": count,
            }
        )
        record._alert_administrators()
        return record

    @api.model
    def _close(self, working):
        """A provider (or a custom server) whose mailboxes work again: its open incidents
        end. ``working``: (provider, host) pairs, host empty for Google and Microsoft."""
        for provider, host in working:
            # a custom server's: that server's, and one of the whole kind left by an older version
            hosts = [host, False] if host else [False]
            self.search([("provider", "=", provider), ("host", "in", hosts), ("closed_at", "=", False)]).write(
                {"closed_at": fields.Datetime.now()}
            )

    def _alert_administrators(self):
        self.ensure_one()
        label = providers.PROVIDERS[self.provider].label
        if self.kind == "app":
            subject = _("%(provider)s refuses Odoo's app: every %(provider)s mailbox is affected", provider=label)
        elif self.host:
            subject = _(
                "The server %(host)s is failing for mailboxes of several owners at once",
                host=shown(self.host, limit=80),
            )
        else:
            subject = _("%(provider)s is failing for many mailboxes at once", provider=label)
        # HTML built here: the cause and the fix (which may quote a server) are text
        body = Markup("<p>%s</p><p>%s</p><p>%s</p>") % (
            shown(self.cause, limit=TEXT_MAX),
            shown(self.fix or "", limit=TEXT_MAX),
            counted(
                self.env,
                self.mailbox_count,
                _(
                    "%(count)s mailbox is affected. Its owner was not alerted and it keeps its status: Odoo "
                    "checks again by itself."
                ),
                _(
                    "%(count)s mailboxes are affected. Their owners were not alerted one by one and their "
                    "mailboxes keep their status: Odoo checks again by itself."
                ),
            ),
        )
        admins = self.env.ref(ADMIN_GROUP).sudo().users | self.env.ref("base.group_system").sudo().users
        self.env["mail.mailbox"]._tell(admins.filtered("active").partner_id, subject, body)
