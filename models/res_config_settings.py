from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..mailbox_engine import providers
from .mail_mailbox import counted
from .mail_mailbox_message import MARK_READ_PARAM

PARAM_PREFIX = "mail_connected_mailbox."


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # Same system parameters as Odoo's google_gmail and microsoft_outlook modules:
    # an administrator who configured those never types the values twice.
    mcm_google_client_id = fields.Char("Google client ID", config_parameter="google_gmail_client_id")
    mcm_google_client_secret = fields.Char("Google client secret", config_parameter="google_gmail_client_secret")
    mcm_microsoft_client_id = fields.Char(
        "Microsoft application (client) ID", config_parameter="microsoft_outlook_client_id"
    )
    mcm_microsoft_client_secret = fields.Char(
        "Microsoft client secret", config_parameter="microsoft_outlook_client_secret"
    )
    mcm_microsoft_tenant = fields.Char(
        "Microsoft tenant",
        config_parameter=PARAM_PREFIX + "microsoft_tenant",
        default="common",
        help="common (work, school and personal accounts), organizations (work and school only), "
        "or your directory (tenant) ID to accept only your organisation's accounts.",
    )
    mcm_backfill_days = fields.Integer(
        "Days of past mail to fetch", config_parameter=PARAM_PREFIX + "backfill_days", default=60
    )
    mcm_sync_minutes = fields.Integer(
        "Look for new mail every (minutes)", config_parameter=PARAM_PREFIX + "sync_minutes", default=2
    )
    mcm_max_message_mb = fields.Integer(
        "Largest message fetched (MB)", config_parameter=PARAM_PREFIX + "max_message_mb", default=25
    )
    mcm_health_check_minutes = fields.Integer(
        "Health check every (minutes)", config_parameter=PARAM_PREFIX + "health_check_minutes", default=15
    )
    mcm_reminder_days = fields.Integer(
        "Remind every (days)", config_parameter=PARAM_PREFIX + "reminder_days", default=2
    )
    mcm_resume_campaigns = fields.Selection(
        [("click", "On a click on Resume"), ("auto", "By themselves")],
        "Paused campaigns resume",
        config_parameter=PARAM_PREFIX + "resume_campaigns",
        default="click",
    )
    mcm_allow_private_hosts = fields.Boolean(
        "Allow servers on private networks",
        config_parameter=PARAM_PREFIX + "allow_private_hosts",
        help="Let every user point a custom mailbox at a private, loopback or link-local address (a mail "
        "server inside your network, or the local demo servers). Off: only administrators may.",
    )
    mcm_mark_read_on_open = fields.Boolean(
        "Opening a message marks it read",
        default=True,
        help="In My mail, opening an unread message marks it read, in Odoo and in the mailbox (the server first).",
    )
    mcm_bounce_window = fields.Integer(related="company_id.mcm_bounce_window", readonly=False)
    mcm_bounce_max_rate = fields.Float(related="company_id.mcm_bounce_max_rate", readonly=False)
    mcm_google_redirect_uri = fields.Char("Google redirect URI", compute="_compute_mcm_redirect_uris")
    mcm_microsoft_redirect_uri = fields.Char("Microsoft redirect URI", compute="_compute_mcm_redirect_uris")

    @api.model
    def _check_settings_reader(self):
        """Settings hold secrets (OAuth client secrets among them): administrators only.

        Core ``default_get`` reads every system parameter as superuser, and ``get_values``
        is public: without this, any logged-in user (portal included) reads them over RPC."""
        if not (self.env.su or self.env.user.has_group("base.group_system")):
            raise AccessError(_("Only administrators can open the settings."))

    @api.model
    def default_get(self, fields):
        self._check_settings_reader()
        return super().default_get(fields)

    def get_values(self):
        self._check_settings_reader()
        values = super().get_values()
        # on unless turned off: a missing parameter reads as on
        values["mcm_mark_read_on_open"] = self.env["mail.mailbox.message"]._mark_read_on_open()
        return values

    def set_values(self):
        self._check_settings_reader()
        result = super().set_values()
        self.env["ir.config_parameter"].sudo().set_param(MARK_READ_PARAM, str(bool(self.mcm_mark_read_on_open)))
        return result

    @api.depends("company_id")
    def _compute_mcm_redirect_uris(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url") or ""
        for settings in self:
            settings.mcm_google_redirect_uri = providers.redirect_uri(base_url, "google")
            settings.mcm_microsoft_redirect_uri = providers.redirect_uri(base_url, "microsoft")

    @api.constrains(
        "mcm_backfill_days", "mcm_health_check_minutes", "mcm_reminder_days", "mcm_sync_minutes", "mcm_max_message_mb"
    )
    def _check_mcm_numbers(self):
        for settings in self:
            if settings.mcm_sync_minutes < 1:
                raise ValidationError(_("Odoo looks for new mail at most every minute."))
            if settings.mcm_max_message_mb < 1:
                raise ValidationError(_("The largest message fetched must be at least 1 MB."))
            if settings.mcm_backfill_days < 0:
                raise ValidationError(_("Days of past mail to fetch cannot be negative."))
            if settings.mcm_health_check_minutes < 1:
                raise ValidationError(_("The health check interval must be at least one minute."))
            if settings.mcm_reminder_days < 0:
                raise ValidationError(_("Days between reminders cannot be negative (0: no reminder)."))

    def action_mcm_rotate_key(self):
        self._check_settings_reader()
        self.ensure_one()
        count = self.env["mail.mailbox.key"]._rotate()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Encryption key rotated"),
                "message": counted(
                    self.env,
                    count,
                    _("%(count)s mailbox secret was re-encrypted with a new key."),
                    _("%(count)s mailbox secrets were re-encrypted with a new key."),
                ),
            },
        }
