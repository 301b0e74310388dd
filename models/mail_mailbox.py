import logging
from datetime import UTC, datetime, timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..mailbox_engine import diagnosis as diag_lib
from ..mailbox_engine import imap as imap_lib
from ..mailbox_engine import providers, servers
from ..mailbox_engine.addresses import InvalidAddressError, normalize_address
from ..mailbox_engine.connection_test import Server, Step, check_imap, check_smtp
from ..mailbox_engine.oauth import GoogleClient, MicrosoftClient, OAuthApp, OAuthError

_logger = logging.getLogger(__name__)
PARAM = "mail_connected_mailbox."
NEW_PASSWORD = "password_new"  # noqa: S105 (a secret kind, not a password): a typed password, not yet proven by a sign-in
ADMIN_GROUP = "mail_connected_mailbox.mail_connected_mailbox_group_admin"
CHECKS_PER_MINUTE = 10  # connection tests a user may start per minute
TOKEN_MARGIN = timedelta(seconds=120)
# Written by Odoo only (through the buttons and checks), never directly over RPC
MANAGED_FIELDS = {
    "state",
    "last_check_date",
    "last_sync_date",
    "last_error_date",
    "last_error_cause",
    "last_error_fix",
    "last_check_report",
    "resync_since",
    "token_expires_at",
}

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
    _allow_sudo_commands = False

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
    email = fields.Char(
        string="Address",
        tracking=True,
        help="Required for IMAP/SMTP mailboxes. For Google and Microsoft, it is checked (or filled in) when you "
        "sign in.",
    )
    email_normalized = fields.Char(compute="_compute_email_normalized", store=True, index=True, precompute=True)
    provider = fields.Selection(
        [(p.code, p.label) for p in providers.PROVIDERS.values()],
        string="Kind",
        required=True,
        default="imap",
        tracking=True,
    )
    state = fields.Selection(
        STATES, string="Status", required=True, default="draft", tracking=True, index=True, copy=False
    )
    active = fields.Boolean(default=True, tracking=True)
    color = fields.Integer(compute="_compute_color")

    # health, in words a salesperson understands
    last_check_date = fields.Datetime("Last check", readonly=True, copy=False)
    last_sync_date = fields.Datetime("Last sync", readonly=True, copy=False)
    last_error_date = fields.Datetime("Last error on", readonly=True, copy=False)
    last_error_cause = fields.Char("Problem", readonly=True, copy=False)
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
        "Past mail to fetch (days)",
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
    token_expires_at = fields.Datetime(readonly=True, copy=False, groups="base.group_system")

    folder_ids = fields.One2many("mail.mailbox.folder", "mailbox_id", string="Folders")
    folder_count = fields.Integer(compute="_compute_folder_count")
    last_check_report = fields.Text("Last check, step by step", readonly=True, copy=False)
    resync_since = fields.Datetime(
        readonly=True, copy=False, help="Set when sync is enabled again: mail since then is fetched again."
    )

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
    @api.depends("email", "provider")
    def _compute_name(self):
        """The name follows the address (and the kind until the address is known), unless
        the user gave the mailbox a name of their own."""
        placeholders = {self._placeholder_name(code) for code in providers.PROVIDERS}
        for mailbox in self:
            name = mailbox.name
            if not name or name in placeholders or ("@" in name and name != mailbox.email):
                mailbox.name = mailbox.email or mailbox._placeholder_name()

    def _placeholder_name(self, provider=None):
        kind = providers.PROVIDERS[provider or self.provider or "imap"].label
        return _("New %(kind)s mailbox", kind=kind)

    @api.depends("folder_ids")
    def _compute_folder_count(self):
        for mailbox in self:
            mailbox.folder_count = len(mailbox.folder_ids)

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
        # once a mailbox was connected, a typed password is only a candidate until a check
        # signs in with it: a password that did not work never replaces one that does
        for mailbox in self.filtered("password"):
            kind = "password" if mailbox.state == "draft" else NEW_PASSWORD
            mailbox._set_secrets({kind: mailbox.password})
        self.invalidate_recordset(["password", "has_password"])  # never keep the plaintext around

    def _compute_has_password(self):
        secrets = (
            self.env["mail.mailbox.secret"].sudo().search([("mailbox_id", "in", self.ids), ("kind", "=", "password")])
        )
        with_password = set(secrets.mapped("mailbox_id").ids)
        for mailbox in self:
            mailbox.has_password = mailbox.id in with_password

    # ------------------------------------------------------------------ constraints
    @api.constrains("email", "provider")
    def _check_email(self):
        # invalid and duplicate addresses are refused before writing (create/write), with the
        # unique index as the last guard; only the address an IMAP mailbox needs is left here
        if any(mailbox.provider == "imap" and not mailbox.email for mailbox in self):
            raise ValidationError(_("The mailbox address is missing: write it as name@example.com."))

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
        if other.user_id == self.env.user or self.env.user.has_group(
            "mail_connected_mailbox.mail_connected_mailbox_group_admin"
        ):
            owner = other.user_id.name
        else:
            owner = _("another user")
        return _(
            "%(address)s is already connected (owner: %(owner)s). An address can be connected "
            "once: open that mailbox and use Reconnect instead of adding it again.",
            address=address,
            owner=owner,
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
        self.imap_port = self._port_for_security("imap", self.imap_security, self.imap_port)

    @api.onchange("smtp_security")
    def _onchange_smtp_security(self):
        self.smtp_port = self._port_for_security("smtp", self.smtp_security, self.smtp_port)

    @api.model
    def _port_for_security(self, kind, security, port):
        """The usual port for ``security``, unless ``port`` is not one of the usual ports
        (a port the user or the provider chose is kept)."""
        if security and (not port or port in providers.usual_ports(kind)):
            return providers.default_port(kind, security)
        return port

    @api.onchange("email")
    def _onchange_email(self):
        """The login is usually the address itself: follow it unless another login was typed."""
        if self.email and (not self.login or "@" in self.login):
            self.login = self.email.strip()

    @api.onchange("imap_host")
    def _onchange_imap_host(self):
        if self.provider == "imap" and self.imap_host and not self.smtp_host:
            self.smtp_host = self.imap_host

    # ------------------------------------------------------------------ CRUD
    def _check_managed_fields(self, vals, creating=False):
        if self.env.su:
            return
        touched = [name for name in MANAGED_FIELDS & vals.keys() if not (creating and vals[name] in (False, "draft"))]
        if touched:
            raise AccessError(
                _(
                    "Odoo sets the status and the check results of a mailbox (%(fields)s) itself: use the "
                    "buttons (Connect, Reconnect, Disable sync…) instead.",
                    fields=", ".join(sorted(touched)),
                )
            )
        if not creating and {"email", "provider"} & vals.keys() and any(m.state != "draft" for m in self):
            raise AccessError(
                _(
                    "The address and the kind of a mailbox that was connected cannot change: disconnect it "
                    "and connect the new address as a new mailbox."
                )
            )
        if "user_id" in vals and not self.env.user.has_group(
            "mail_connected_mailbox.mail_connected_mailbox_group_admin"
        ):
            owners = {vals["user_id"]} | set(self.mapped("user_id").ids)
            if owners != {self.env.uid}:
                raise AccessError(_("Only a mailbox administrator can give a mailbox to another user."))

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_managed_fields(vals, creating=True)
            if vals.get("email"):
                vals["email"] = self._check_address_free(vals["email"])
            info = providers.PROVIDERS.get(vals.get("provider") or "imap")
            if info.oauth:
                self._check_oauth_app(info.code)
                for key, value in self._prepare_provider_servers(info).items():
                    vals.setdefault(key, value)
            if vals.get("email"):
                vals.setdefault("login", vals["email"])
        return super().create(vals_list)

    def write(self, vals):
        self._check_managed_fields(vals)
        if vals.get("email"):
            vals["email"] = self._check_address_free(vals["email"], self.id if len(self) == 1 else False)
        moved = self._moved_away(vals)
        owners = {mailbox: mailbox.user_id for mailbox in self} if "user_id" in vals else {}
        archived = self.filtered("active") if vals.get("active") is False else self.browse()
        result = super().write(vals)
        for mailbox in moved:  # a stored password never goes to a server it was not typed for
            mailbox._set_secrets({"password": "", NEW_PASSWORD: ""})
        for mailbox, previous in owners.items():
            if mailbox.user_id != previous:
                mailbox._owner_changed(previous)
        if archived and not self.env.context.get("mcm_disconnecting"):
            archived._archived()
        return result

    def _owner_changed(self, previous):
        """The previous owner stops following the mailbox; both owners are told."""
        self.message_unsubscribe(partner_ids=previous.partner_id.ids)
        self.message_subscribe(partner_ids=self.user_id.partner_id.ids)
        self.message_post(
            body=_(
                "%(user)s gave this mailbox to %(new)s (it belonged to %(old)s).",
                user=self.env.user.name,
                new=self.user_id.name,
                old=previous.name,
            ),
            partner_ids=(previous.partner_id | self.user_id.partner_id).ids,
            subtype_xmlid="mail.mt_note",
        )

    def _archived(self):
        """Archiving is Disconnect keeping what was synced: an archived mailbox holds no
        credentials and no work runs for it."""
        for mailbox in self:
            mailbox._wipe_credentials()
            mailbox.sudo().write({"state": "draft", "token_expires_at": False})
            mailbox.message_post(
                body=_(
                    "Archived by %(user)s: credentials removed, synced data kept. Restore it and click "
                    "Connect to use it again.",
                    user=self.env.user.name,
                )
            )

    def _creation_message(self):
        return _("Mailbox created (not connected yet).")

    def _moved_away(self, vals):
        """Mailboxes whose password would reach another server or login than it was typed for."""
        if vals.get("password"):
            return self.browse()
        keys = ("imap_host", "smtp_host", "login")
        return self.filtered(lambda m: any(k in vals and (vals[k] or False) != (m[k] or False) for k in keys))

    # ------------------------------------------------------------------ business
    @api.model
    def _prepare_provider_servers(self, info):
        """The provider's IMAP and SMTP servers; a system parameter
        ``mail_connected_mailbox.<provider>_imap`` / ``_smtp`` = ``host:port:security``
        overrides them (the local mail stack in tests and demos)."""
        values = {
            "imap_host": info.imap_host,
            "imap_port": info.imap_port,
            "imap_security": info.imap_security,
            "smtp_host": info.smtp_host,
            "smtp_port": info.smtp_port,
            "smtp_security": info.smtp_security,
        }
        params = self.env["ir.config_parameter"].sudo()
        for kind in ("imap", "smtp"):
            override = params.get_param(f"{PARAM}{info.code}_{kind}")
            if override:
                host, port, security = override.split(":")
                values.update({f"{kind}_host": host, f"{kind}_port": int(port), f"{kind}_security": security})
        return values

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

    # ------------------------------------------------------------------ actions
    def _check_can_act(self):
        """Every button checks first that the caller may change this mailbox (a follower
        or a previous owner may not) and that it is not archived."""
        self.ensure_one()
        self.check_access("write")
        if not self.active:
            raise UserError(
                _(
                    "%(mailbox)s is archived: nothing runs for it. Restore it first (Action › Unarchive).",
                    mailbox=self.display_name,
                )
            )

    def action_connect(self):
        """Connect (or reconnect, in place): OAuth sign-in, or password check for IMAP/SMTP."""
        self._check_can_act()
        if self.provider == "imap":
            return self._connect_with_password()
        return self._start_oauth()

    def action_reconnect(self):
        """Same record, folders, sync state and history: only the credentials change."""
        return self.action_connect()

    def action_test_connection(self):
        self._check_can_act()
        failed = self._check_credentials()
        if failed:
            cause, fix = self._render_diagnosis(failed.diagnosis)
            return self._notify(
                _("Test failed at “%(step)s”", step=failed.name), f"{cause}\n{fix}", "danger", reload=True
            )
        return self._notify(_("Connection works"), _("IMAP and SMTP accepted the sign-in."), "success", reload=True)

    def action_disable(self):
        """Stop syncing; keep everything."""
        self._check_can_act()
        self.sudo().write({"state": "disabled"})
        self.message_post(body=_("Sync disabled by %(user)s. Nothing was deleted.", user=self.env.user.name))
        return True

    def action_enable(self):
        """Check access again and resume; the backfill window is fetched again."""
        self._check_can_act()
        failed = self._check_credentials()
        if failed:
            cause, fix = self._render_diagnosis(failed.diagnosis)
            return self._notify(_("Sync stays off"), f"{cause}\n{fix}", "danger", reload=True)
        self._mark_connected(None, verb=_("Sync enabled"))
        self.sudo().write({"resync_since": fields.Datetime.now() - timedelta(days=self.backfill_days)})
        return True

    def action_disconnect(self):
        self._check_can_act()
        return {
            "type": "ir.actions.act_window",
            "name": _("Disconnect %(mailbox)s", mailbox=self.display_name),
            "res_model": "mail.mailbox.disconnect.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_mailbox_id": self.id},
        }

    # ------------------------------------------------------------------ connection
    def _disconnect(self, delete_synced_data):
        """Wipe the credentials and archive; keep or delete what was synced."""
        for mailbox in self:
            mailbox._wipe_credentials()
            if delete_synced_data:
                mailbox._delete_synced_data()
            mailbox.message_post(
                body=_(
                    "Disconnected by %(user)s: credentials removed, synced data %(fate)s.",
                    user=self.env.user.name,
                    fate=_("deleted") if delete_synced_data else _("kept"),
                )
            )
            mailbox.sudo().with_context(mcm_disconnecting=True).write(
                {"state": "draft", "token_expires_at": False, "active": False}
            )

    def _wipe_credentials(self):
        self.ensure_one()
        self.env["mail.mailbox.secret"].sudo().search([("mailbox_id", "=", self.id)]).unlink()
        self.env["mail.mailbox.connect.attempt"].sudo().search([("mailbox_id", "=", self.id)]).unlink()

    def _delete_synced_data(self):
        """Remove what sync stored for these mailboxes (folders and their sync state)."""
        self.sudo().with_context(active_test=False).folder_ids.unlink()

    def _connect_with_password(self):
        if not (self.has_password or self._get_secret(NEW_PASSWORD)):
            raise UserError(_("Type the mailbox's password (or app password) first, then click Connect."))
        failed = self._check_credentials()
        if failed:
            cause, fix = self._render_diagnosis(failed.diagnosis)
            title = _("Not connected: “%(step)s” failed", step=failed.name)
            if self.state != "draft":
                title = _("Reconnect failed at “%(step)s”", step=failed.name)
            return self._notify(title, f"{cause}\n{fix}", "danger", reload=True)
        if self.state in ("draft", "auth_lost", "error", "throttled"):
            self._mark_connected(None)
        else:  # a new password for a working mailbox
            self.message_post(body=_("New password checked and stored by %(user)s.", user=self.env.user.name))
        return self._notify(_("Connected"), _("%(address)s is connected.", address=self.email), "success", reload=True)

    def _start_oauth(self):
        self._check_oauth_app(self.provider)
        try:
            client = self._oauth_client()
        except OAuthError as exc:
            cause, fix = self._render_diagnosis(exc.diagnosis)
            raise UserError(_("%(cause)s\n%(fix)s", cause=cause, fix=fix)) from None
        url = self.env["mail.mailbox.connect.attempt"]._new(self, lambda state: client.start(state, self.email or ""))
        return {"type": "ir.actions.act_url", "url": url, "target": "self"}

    @api.model
    def _oauth_callback(self, provider, params):
        """Finish a sign-in coming back from the provider.

        Returns ``(mailbox, None)`` when connected, or ``(mailbox or None, error)`` where
        ``error`` is ``{"title", "cause", "fix", "kept"}``. A refused sign-in changes no
        credentials and no status; it is recorded on the mailbox (what happened, and in
        the chatter), and its one-time state is spent.
        """
        attempt, message = self.env["mail.mailbox.connect.attempt"]._consume(provider, params.get("state"))
        if not attempt:
            return None, {"title": _("Sign-in refused"), "cause": message, "fix": "", "kept": ""}
        mailbox = attempt.mailbox_id.with_env(self.env)
        try:
            mailbox.check_access("write")
            with self.env.cr.savepoint():
                mailbox._finish_oauth(attempt, params)
        except OAuthError as exc:
            cause, fix = mailbox._render_diagnosis(exc.diagnosis)
        except (UserError, ValidationError, AccessError) as exc:
            cause, fix = exc.args[0], ""
        except Exception:
            _logger.exception("Unexpected failure while finishing the sign-in of mailbox %s", mailbox.id)
            cause = _("Odoo could not finish the sign-in because of an unexpected error.")
            fix = _("Try again; if it fails again, ask your administrator to look at the server log.")
        else:
            return mailbox, None
        return mailbox, mailbox._sign_in_refused(cause, fix)

    def _sign_in_refused(self, cause, fix):
        """Record a refused sign-in on the mailbox; return what the result page shows."""
        if not self.exists() or not self.has_access("write"):
            return {"title": _("Sign-in refused"), "cause": cause, "fix": fix, "kept": ""}
        box = self.sudo()
        if box.state == "draft":
            title = _("%(mailbox)s is not connected", mailbox=box.display_name)
            kept = ""
        else:
            title = _("The new sign-in to %(mailbox)s was refused", mailbox=box.display_name)
            kept = _(
                "The mailbox keeps its previous access and its status (%(status)s).",
                status=dict(self._fields["state"]._description_selection(self.env))[box.state],
            )
        box.write({"last_error_date": fields.Datetime.now(), "last_error_cause": cause, "last_error_fix": fix})
        self.message_post(body=_("Sign-in refused: %(cause)s %(fix)s", cause=cause, fix=fix))
        return {"title": title, "cause": cause, "fix": fix, "kept": kept}

    def _finish_oauth(self, attempt, params):
        label = providers.PROVIDERS[self.provider].label
        if params.get("error"):
            payload = {"error": params["error"], "error_description": params.get("error_description", "")}
            raise OAuthError(diag_lib.from_oauth_error(label, 400, payload, address=self.email or label))
        if not params.get("code"):
            raise OAuthError(diag_lib.diagnose("no_code", "code", provider=label, address=self.email or label))
        client = self._oauth_client()
        if self.provider == "google":
            grant = client.finish(params.get("code", ""), attempt._get_secret(), self.email or "")
        else:
            grant = client.finish(attempt._get_secret(), params, self.email or "")
        if not grant.email:
            raise OAuthError(
                diag_lib.diagnose(
                    "permissions", "email", provider=label, address=self.email or label, missing=_("your email address")
                )
            )
        if self.email and grant.email != normalize_address(self.email):
            raise OAuthError(
                diag_lib.diagnose("wrong_account", "address", provider=label, address=self.email, signed_in=grant.email)
            )
        if not self.email:
            values = {"email": grant.email, "login": grant.email}
            if self.name == self._placeholder_name():
                values["name"] = grant.email
            self.write(values)
        self._store_grant(grant)
        steps = check_imap(self._server("imap", grant.access_token), self.email)
        if not steps[-1].ok:
            raise OAuthError(steps[-1].diagnosis)
        self._record_checks(steps, [])
        self._mark_connected(grant.access_token)

    def _store_grant(self, grant):
        secrets = {"access_token": grant.access_token}
        if grant.refresh_token:
            secrets["refresh_token"] = grant.refresh_token
        if grant.token_cache:
            secrets["token_cache"] = grant.token_cache
        self._set_secrets(secrets)
        self.sudo().token_expires_at = datetime.fromtimestamp(grant.expires_at, UTC).replace(tzinfo=None)

    def _get_access_token(self, force=False):
        """A valid OAuth access token, refreshed when it expires soon (raises OAuthError)."""
        self.ensure_one()
        expires = self.sudo().token_expires_at
        if not force and expires and expires - TOKEN_MARGIN > fields.Datetime.now():
            token = self._get_secret("access_token")
            if token:
                return token
        if self.provider == "google":
            grant = self._oauth_client().refresh(self._get_secret("refresh_token"), self.email)
        else:
            grant = self._oauth_client(self._get_secret("token_cache")).refresh(self.email, force=force)
        self._store_grant(grant)
        return grant.access_token

    def _oauth_app(self):
        params = self.env["ir.config_parameter"].sudo()
        client_id, client_secret = self._get_oauth_app(self.provider)
        app = OAuthApp(
            client_id or "",
            client_secret or "",
            providers.redirect_uri(self.get_base_url(), self.provider),
            ca_bundle=params.get_param(PARAM + "ca_bundle", ""),
        )
        if self.provider == "google":
            app.endpoints = {
                key: params.get_param(f"{PARAM}google_{key}", "") for key in ("auth_uri", "token_uri", "userinfo_uri")
            }
        else:
            app.tenant = params.get_param(PARAM + "microsoft_tenant", "common") or "common"
            app.authority_host = params.get_param(PARAM + "microsoft_authority_host", "") or app.authority_host
        return app

    def _oauth_client(self, token_cache=""):
        app = self._oauth_app()
        return GoogleClient(app) if self.provider == "google" else MicrosoftClient(app, token_cache)

    def _server(self, kind, oauth_token=None):
        info = providers.PROVIDERS[self.provider]
        # Google and Microsoft: always their servers (as configured by an administrator),
        # never a host written on the record: a token goes nowhere else
        where = self._prepare_provider_servers(info) if info.oauth else self
        password = ""
        if not oauth_token:
            password = self._get_secret(NEW_PASSWORD) or self._get_secret("password")
        return Server(
            host=where[f"{kind}_host"] or "",
            port=where[f"{kind}_port"],
            security=where[f"{kind}_security"],
            login=self.login or self.email or "",
            password=password,
            oauth_token=oauth_token or "",
            label=providers.PROVIDERS[self.provider].label if self.provider != "imap" else "",
        )

    def _run_checks(self):
        """(IMAP steps, SMTP steps); an OAuth token problem is reported as a “Sign-in” step.

        When the server refuses an OAuth token, the token is refreshed once: the provider's
        answer to that (revoked, consent, MFA, throttling…) is the real diagnosis."""
        self.ensure_one()
        if self.provider == "imap":
            self._check_servers_allowed()
            imap_steps = check_imap(self._server("imap"), self.email)
            return imap_steps, check_smtp(self._server("smtp"), self.email) if imap_steps[-1].ok else []
        try:
            token = self._get_access_token()
            imap_steps = check_imap(self._server("imap", token), self.email)
            if not imap_steps[-1].ok and imap_steps[-1].diagnosis.kind == "revoked":
                token = self._get_access_token(force=True)
                imap_steps = check_imap(self._server("imap", token), self.email)
        except OAuthError as exc:
            return [Step("Sign-in", False, "", exc.diagnosis)], []
        if not imap_steps[-1].ok:
            return imap_steps, []
        return imap_steps, check_smtp(self._server("smtp", token), self.email)

    def _check_servers_allowed(self):
        """Custom servers: non-administrators may not reach private, loopback or link-local
        addresses (unless Settings allow it) and may start only a few tests a minute."""
        if self.env.su or self.env.user.has_group(ADMIN_GROUP):
            return
        self.env["mail.mailbox.check.log"]._count_check(CHECKS_PER_MINUTE)
        if self.env["ir.config_parameter"].sudo().get_param(PARAM + "allow_private_hosts"):
            return
        for kind in ("imap", "smtp"):
            address = servers.restricted_address(self[f"{kind}_host"], self[f"{kind}_port"])
            if address:
                raise UserError(
                    _(
                        "%(host)s (%(address)s) is on a private, loopback or link-local network: only an "
                        "administrator can connect a mailbox there. Use the public name of your mail "
                        "server, or ask an administrator to allow servers on private networks in "
                        "Settings › Connected Mailboxes.",
                        host=self[f"{kind}_host"],
                        address=address,
                    )
                )

    def _record_checks(self, imap_steps, smtp_steps):
        """Write the step-by-step report; return the failed step, if any."""
        lines = []
        failed = None
        for kind, steps in (("IMAP", imap_steps), ("SMTP", smtp_steps)):
            for step in steps:
                if step.ok:
                    lines.append(f"✔ {kind} {step.name}: {step.detail}")
                else:
                    cause, fix = self._render_diagnosis(step.diagnosis)
                    lines.append(f"✘ {kind} {step.name}: {cause} {fix}")
                    failed = step
        self.sudo().write({"last_check_date": fields.Datetime.now(), "last_check_report": "\n".join(lines)})
        return failed

    def _check_credentials(self):
        """Sign in now with the stored credentials (or a password just typed) and apply the
        result; return the failed :class:`Step`, or None when everything worked.

        * a password just typed for a mailbox that was connected is a candidate: if it works
          it replaces the stored one; if it fails it is forgotten, and the mailbox keeps its
          old password and status;
        * a password the server refused is never kept (a mailbox never connected forgets it);
        * stored credentials that fail move the mailbox to the diagnosis' status
          (a mailbox never connected stays “Not connected”), with the cause and the fix;
        * credentials that work again bring an “Access lost”/“Error” mailbox back.
        """
        self.ensure_one()
        candidate = self.provider == "imap" and bool(self._get_secret(NEW_PASSWORD))
        failed = self._record_checks(*self._run_checks())
        if candidate:
            self._set_secrets(
                {NEW_PASSWORD: ""} if failed else {"password": self._get_secret(NEW_PASSWORD), NEW_PASSWORD: ""}
            )
        elif failed and self.state == "draft" and failed.diagnosis.kind == "password":
            self._set_secrets({"password": ""})
        if failed:
            self._apply_diagnosis(failed.diagnosis, change_state=not candidate)
            if candidate and self.state != "draft":
                cause, fix = self._render_diagnosis(failed.diagnosis)
                self.message_post(
                    body=_(
                        "A new password was refused; the mailbox keeps its previous one. %(cause)s %(fix)s",
                        cause=cause,
                        fix=fix,
                    )
                )
            return failed
        if self.state in ("auth_lost", "error", "throttled"):
            self._mark_connected(None)
        else:
            self._clear_error()
        return None

    def _check_mailbox_access(self):
        """:meth:`_check_credentials`; return the :class:`Diagnosis` of the failure, or None."""
        failed = self._check_credentials()
        return failed.diagnosis if failed else None

    def _apply_diagnosis(self, diagnosis, change_state=True):
        """Record a failure on the mailbox; move to its status unless it is transient, the
        mailbox was never connected or is disabled, or ``change_state`` is False."""
        cause, fix = self._render_diagnosis(diagnosis)
        values = {"last_error_date": fields.Datetime.now(), "last_error_cause": cause, "last_error_fix": fix}
        if change_state and diagnosis.state and self.state not in ("draft", "disabled"):
            values["state"] = diagnosis.state
        self.sudo().write(values)

    def _clear_error(self):
        self.sudo().write({"last_error_cause": False, "last_error_fix": False, "last_error_date": False})

    def _mark_connected(self, oauth_token, verb=None):
        was = self.state
        self.sudo().write({"state": "connected", "last_check_date": fields.Datetime.now()})
        self._clear_error()
        self._refresh_folders(oauth_token)
        verb = verb or (_("Reconnected") if was != "draft" else _("Connected"))
        self.message_post(body=_("%(verb)s by %(user)s.", verb=verb, user=self.env.user.name))

    def _refresh_folders(self, oauth_token=None):
        try:
            if providers.PROVIDERS[self.provider].oauth and not oauth_token:
                oauth_token = self._get_access_token()
            with imap_lib.session(self._server("imap", oauth_token), self.email) as client:
                listed = imap_lib.list_folders(client)
        except Exception:  # the sign-in worked a moment ago; folders are listed again at the next sync
            _logger.warning("Could not list the folders of mailbox %s", self.id, exc_info=True)
            return
        self.env["mail.mailbox.folder"].sudo()._sync_from_server(self, listed)

    def _render_diagnosis(self, diagnosis):
        """(cause, fix), translated, with the placeholders filled in; the fix names the
        button the form shows (Connect until the mailbox was connected once)."""
        button = self.env._("Connect") if self.state == "draft" else self.env._("Reconnect")
        return diagnosis.render(self.env._, button)  # pylint: disable=translation-required

    def _notify(self, title, message, kind, reload=False):
        params = {"title": title, "message": message, "type": kind, "sticky": kind == "danger"}
        if reload:  # the form reloads the record (its "on close"), so the result shows on it
            params["next"] = {"type": "ir.actions.act_window_close"}
        return {"type": "ir.actions.client", "tag": "display_notification", "params": params}
