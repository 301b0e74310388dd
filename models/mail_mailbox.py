from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..mailbox_engine import providers
from ..mailbox_engine.addresses import InvalidAddressError, normalize_address

STATES = [
    ("draft", "Not connected"),
    ("connected", "Connected"),
    ("auth_lost", "Access lost"),
    ("throttled", "Throttled"),
    ("error", "Error"),
    ("disabled", "Disabled"),
]
# kanban colour index per state (Odoo's palette: 1 red, 2 orange, 10 green)
STATE_COLORS = {"draft": 0, "connected": 10, "auth_lost": 1, "throttled": 2, "error": 1, "disabled": 0}
SECURITY = [
    (providers.SECURITY_SSL, "SSL/TLS"),
    (providers.SECURITY_STARTTLS, "STARTTLS"),
    (providers.SECURITY_NONE, "None (local tests only)"),
]


class MailMailbox(models.Model):
    _name = "mail.mailbox"
    _description = "Connected mailbox"
    _inherit = ["mail.thread"]
    _order = "user_id, email"
    _rec_name = "name"

    # ------------------------------------------------------------------ fields
    name = fields.Char(compute="_compute_name", store=True, readonly=False, required=True, precompute=True)
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        required=True,
        index=True,
        ondelete="cascade",
        default=lambda self: self.env.user,
        tracking=True,
        domain=[("share", "=", False)],
    )
    email = fields.Char(string="Address", required=True, tracking=True)
    email_normalized = fields.Char(compute="_compute_email_normalized", store=True, index=True, precompute=True)
    provider = fields.Selection(
        [(p.code, p.label) for p in providers.PROVIDERS.values()],
        required=True,
        default="imap",
        tracking=True,
    )
    state = fields.Selection(STATES, required=True, default="draft", tracking=True, index=True, copy=False)
    active = fields.Boolean(default=True, tracking=True)
    color = fields.Integer(compute="_compute_color")

    # health, in words a salesperson understands
    last_check_date = fields.Datetime("Last check", readonly=True, copy=False)
    last_sync_date = fields.Datetime("Last sync", readonly=True, copy=False)
    last_error_date = fields.Datetime("Last error on", readonly=True, copy=False)
    last_error_cause = fields.Char("What happened", readonly=True, copy=False)
    last_error_fix = fields.Text("How to fix it", readonly=True, copy=False)

    # servers (filled from the provider for Google and Microsoft)
    login = fields.Char(help="User name on the IMAP and SMTP servers; usually the address itself.")
    imap_host = fields.Char("IMAP server")
    imap_port = fields.Integer("IMAP port", default=993)
    imap_security = fields.Selection(SECURITY, "IMAP security", default=providers.SECURITY_SSL)
    smtp_host = fields.Char("SMTP server")
    smtp_port = fields.Integer("SMTP port", default=465)
    smtp_security = fields.Selection(SECURITY, "SMTP security", default=providers.SECURITY_SSL)
    backfill_days = fields.Integer(
        default=lambda self: self._default_backfill_days(),
        help="How many days of past mail are fetched when the mailbox is connected or enabled again.",
    )

    # secrets: write-only here, stored encrypted in mail.mailbox.secret
    password = fields.Char(
        compute="_compute_password",
        inverse="_inverse_password",
        copy=False,
        help="Password or app password of the mailbox. It is stored encrypted and never shown again.",
    )
    has_password = fields.Boolean(compute="_compute_has_password")

    _sql_constraints = [
        (
            "email_normalized_uniq",
            "unique(email_normalized)",
            "This address is already connected: each address can be connected once.",
        ),
        ("backfill_days_positive", "CHECK(backfill_days >= 0)", "The backfill window cannot be negative."),
    ]

    # ------------------------------------------------------------------ defaults
    @api.model
    def _default_backfill_days(self):
        return int(self.env["ir.config_parameter"].sudo().get_param("mail_connected_mailbox.backfill_days", 60))

    # ------------------------------------------------------------------ compute
    @api.depends("email")
    def _compute_name(self):
        for mailbox in self:
            if not mailbox.name:
                mailbox.name = mailbox.email

    @api.depends("email")
    def _compute_email_normalized(self):
        for mailbox in self:
            try:
                mailbox.email_normalized = normalize_address(mailbox.email)
            except InvalidAddressError:
                mailbox.email_normalized = False

    @api.depends("state")
    def _compute_color(self):
        for mailbox in self:
            mailbox.color = STATE_COLORS.get(mailbox.state, 0)

    def _compute_password(self):
        self.password = False

    def _inverse_password(self):
        for mailbox in self.filtered("password"):
            mailbox._set_secrets({"password": mailbox.password})
        self.invalidate_recordset(["password", "has_password"])  # never keep the plaintext around

    def _compute_has_password(self):
        secrets = (
            self.env["mail.mailbox.secret"].sudo().search([("mailbox_id", "in", self.ids), ("kind", "=", "password")])
        )
        with_password = set(secrets.mapped("mailbox_id").ids)
        for mailbox in self:
            mailbox.has_password = mailbox.id in with_password

    # ------------------------------------------------------------------ constraints
    @api.constrains("email")
    def _check_email(self):
        for mailbox in self:
            mailbox._check_address_free(mailbox.email, mailbox.id)

    @api.model
    def _check_address_free(self, email, exclude_id=False):
        """Normalise ``email``; raise a clear error if it is invalid or already connected."""
        try:
            address = normalize_address(email)
        except InvalidAddressError as exc:
            raise ValidationError(str(exc)) from None
        other = (
            self.sudo()
            .with_context(active_test=False)
            .search([("email_normalized", "=", address), ("id", "!=", exclude_id)], limit=1)
        )
        if other:
            raise ValidationError(self._duplicate_message(address, other))
        return address

    @api.model
    def _duplicate_message(self, address, other):
        if not other.active:
            return _(
                "%(address)s was connected before and is now archived. Open Mailboxes, filter on "
                "Archived, restore it and use Reconnect instead of adding it again.",
                address=address,
            )
        return _(
            "%(address)s is already connected (owner: %(owner)s). An address can be connected "
            "once: open that mailbox and use Reconnect instead of adding it again.",
            address=address,
            owner=other.user_id.name,
        )

    @api.constrains("imap_port", "smtp_port")
    def _check_ports(self):
        for mailbox in self:
            for label, port in (("IMAP", mailbox.imap_port), ("SMTP", mailbox.smtp_port)):
                if port and not 0 < port < 65536:
                    raise ValidationError(
                        _(
                            "The %(kind)s port %(port)s is not a TCP port: use a number "
                            "from 1 to 65535 (usually 993 for IMAP, 465 or 587 for SMTP).",
                            kind=label,
                            port=port,
                        )
                    )

    # ------------------------------------------------------------------ onchange
    @api.onchange("provider")
    def _onchange_provider(self):
        info = providers.PROVIDERS.get(self.provider)
        if info and info.oauth:
            self.update(self._prepare_provider_servers(info))

    @api.onchange("imap_security")
    def _onchange_imap_security(self):
        if self.imap_security:
            self.imap_port = providers.default_port("imap", self.imap_security)

    @api.onchange("smtp_security")
    def _onchange_smtp_security(self):
        if self.smtp_security:
            self.smtp_port = providers.default_port("smtp", self.smtp_security)

    @api.onchange("imap_host")
    def _onchange_imap_host(self):
        if self.provider == "imap" and self.imap_host and not self.smtp_host:
            self.smtp_host = self.imap_host

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("email"):
                vals["email"] = self._check_address_free(vals["email"])
            info = providers.PROVIDERS.get(vals.get("provider") or "imap")
            if info.oauth:
                self._check_oauth_app(info.code)
                for key, value in self._prepare_provider_servers(info).items():
                    vals.setdefault(key, value)
            vals.setdefault("login", vals.get("email"))
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("email"):
            vals["email"] = self._check_address_free(vals["email"], self.id if len(self) == 1 else False)
        return super().write(vals)

    # ------------------------------------------------------------------ business
    @api.model
    def _prepare_provider_servers(self, info):
        return {
            "imap_host": info.imap_host,
            "imap_port": info.imap_port,
            "imap_security": info.imap_security,
            "smtp_host": info.smtp_host,
            "smtp_port": info.smtp_port,
            "smtp_security": info.smtp_security,
        }

    @api.model
    def _get_oauth_app(self, provider):
        """(client id, client secret) of the provider's OAuth app, as Odoo stores them."""
        params = self.env["ir.config_parameter"].sudo()
        prefix = {"google": "google_gmail", "microsoft": "microsoft_outlook"}[provider]
        return params.get_param(f"{prefix}_client_id"), params.get_param(f"{prefix}_client_secret")

    @api.model
    def _check_oauth_app(self, provider):
        client_id, client_secret = self._get_oauth_app(provider)
        if not (client_id and client_secret):
            raise UserError(
                _(
                    "%(provider)s mailboxes cannot be connected yet: the %(provider)s OAuth app is not "
                    "configured. An administrator must fill in its client ID and client secret in "
                    "Settings › Connected Mailboxes.",
                    provider=providers.PROVIDERS[provider].label,
                )
            )

    def _get_secret(self, kind):
        self.ensure_one()
        return self.env["mail.mailbox.secret"]._read_secret(self, kind)

    def _set_secrets(self, values):
        self.ensure_one()
        self.env["mail.mailbox.secret"]._write_secrets(self, values)
