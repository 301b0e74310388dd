from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools.misc import formatLang

from ..mailbox_engine import limits as limits_lib
from ..mailbox_engine import providers
from ..mailbox_engine.addresses import InvalidAddressError, normalize_address

PARAM = "mail_connected_mailbox."
NEW_PASSWORD = "password_new"  # noqa: S105 (a secret kind, not a password): a typed password, not yet proven by a sign-in
ADMIN_GROUP = "mail_connected_mailbox.mail_connected_mailbox_group_admin"
LIMIT_FIELDS = {"send_limit_minute", "send_limit_day", "send_limit_recipients_day"}
CHECKS_PER_MINUTE = 10  # connections to mail servers a user may start per minute
# where a custom mailbox signs in: a change leaves the mailbox "Not connected" until a check passes
SERVER_FIELDS = ("imap_host", "imap_port", "imap_security", "smtp_host", "smtp_port", "smtp_security", "login")
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
    "next_check_at",
    "failures_in_row",
    "access_lost_since",
    "reminded_at",
    "state_changed_at",
}


def count_shown(env, count):
    """A count as the user's language writes it (23,000 or 23.000)."""
    return formatLang(env, count or 0, digits=0)


def counted(env, count, one, many, **params):
    """``one`` or ``many`` (translated texts with a ``%(count)s`` placeholder) for
    ``count``, the number written as the user's language writes it."""
    return (one if count == 1 else many) % {**params, "count": count_shown(env, count)}


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
    _inherit = ["mail.thread", "mail.activity.mixin"]
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
    sender_user_ids = fields.Many2many(
        "res.users",
        "mail_mailbox_sender_user_rel",
        "mailbox_id",
        "user_id",
        string="Who else may send through it",
        domain=[("share", "=", False)],
        copy=False,
        tracking=True,
        help="Colleagues whose mail may leave through this mailbox, from its address (an assistant, a "
        "marketing colleague running your campaigns). Nobody else's: their mail from this address fails, "
        "with the reason. Only the owner and mailbox administrators change this list.",
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

    send_limit_minute = fields.Integer(
        "Messages per minute", help="The most this mailbox sends in a minute (0: no limit). Beyond, mail waits."
    )
    send_limit_day = fields.Integer(
        "Messages per day", help="The most this mailbox sends in 24 hours (0: no limit). Beyond, mail waits."
    )
    send_limit_recipients_day = fields.Integer(
        "Recipients per day", help="The most recipients this mailbox reaches in 24 hours (0: no limit)."
    )
    held_mail_count = fields.Integer("Messages waiting", compute="_compute_held_mail")
    held_mail_since = fields.Datetime("Waiting since", compute="_compute_held_mail")
    held_mail_text = fields.Char("Mail waiting", compute="_compute_held_mail")
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
        placeholders = {self._placeholder_name()}
        for info in providers.PROVIDERS.values():  # the names given before a mailbox was named after its address
            placeholders.add(self.env._("New %(kind)s mailbox", kind=info.label))
        for mailbox in self:
            name = mailbox.name
            if not name or name in placeholders or ("@" in name and name != mailbox.email):
                mailbox.name = mailbox.email or mailbox._placeholder_name()

    def _placeholder_name(self):
        """The name until the address is known (a mailbox is named after its address)."""
        return _("New mailbox")

    @api.depends("name")
    @api.depends_context("uid")
    def _compute_display_name(self):
        """A mailbox named where its reader may not read it (a many2one is read as
        superuser, by Odoo's design) shows no name: the address stays private."""
        unreadable = self.browse()
        stored = self.filtered(lambda mailbox: isinstance(mailbox.id, int))
        if self.env.su and stored:
            unreadable = stored - stored.with_env(self.env(su=False))._filtered_access("read")
        for mailbox in self:
            mailbox.display_name = _("Restricted mailbox") if mailbox in unreadable else mailbox.name

    @api.model
    def _check_reference(self, mailbox_id, operation="write"):
        """For models that point to a mailbox: refuse one the user may not use, with the
        same words whether it exists or not."""
        if isinstance(mailbox_id, dict):  # {"id": …} as the web client may send it
            mailbox_id = mailbox_id.get("id")
        if not mailbox_id or self.env.su:
            return
        mailbox = self.browse(mailbox_id)
        if not (mailbox.exists() and mailbox.has_access(operation)):
            raise AccessError(_("You can only use a mailbox you manage."))

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

    @api.constrains("sender_user_ids")
    def _check_sender_users(self):
        if any(user.share for user in self.sender_user_ids):
            raise ValidationError(
                _("Only internal users may send through a mailbox: remove portal users from the list.")
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
        if (
            not creating
            and {"email", "provider"} & vals.keys()
            and any(m.state != "draft" or not m.active for m in self)
        ):
            raise AccessError(
                _(
                    "The address and the kind of a mailbox that was connected cannot change: disconnect it "
                    "and connect the new address as a new mailbox."
                )
            )
        if LIMIT_FIELDS & vals.keys() and not creating and not self.env.user.has_group(ADMIN_GROUP):
            raise AccessError(_("Only a mailbox administrator can change a mailbox's sending limits."))
        not_owner = any(mailbox.user_id != self.env.user for mailbox in self) or (
            creating and vals.get("user_id", self.env.uid) != self.env.uid
        )
        if "sender_user_ids" in vals and not_owner and not self.env.user.has_group(ADMIN_GROUP):
            raise AccessError(
                _("Only the owner of a mailbox and mailbox administrators choose who may send through it.")
            )
        if "user_id" in vals and not self.env.user.has_group(
            "mail_connected_mailbox.mail_connected_mailbox_group_admin"
        ):
            owners = {vals["user_id"]} | set(self.mapped("user_id").ids)
            if owners != {self.env.uid}:
                raise AccessError(_("Only a mailbox administrator can give a mailbox to another user."))

    def copy(self, default=None):
        if not self:
            return super().copy(default)
        raise UserError(
            _(
                "A mailbox cannot be duplicated: an address is connected once. Click New and connect the other "
                "address, or open this mailbox and use Reconnect."
            )
        )

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
            if not (self.env.su or self.env.user.has_group(ADMIN_GROUP)):
                for name in LIMIT_FIELDS:  # the provider's caps; administrators change them
                    vals.pop(name, None)
            defaults = limits_lib.default_limits(info.code, vals.get("email") or "")
            vals.setdefault("send_limit_minute", defaults.per_minute)
            vals.setdefault("send_limit_day", defaults.per_day)
            vals.setdefault("send_limit_recipients_day", defaults.recipients_per_day)
        return super().create(vals_list)

    def write(self, vals):
        self._check_managed_fields(vals)
        if "state" in vals and not self.env.context.get("mcm_status_owner"):
            # one owner of status changes: _set_state (mail_mailbox_health.py) and its hooks
            raise UserError(_("A mailbox's status changes through its checks and buttons only."))
        if vals.get("email"):
            vals["email"] = self._check_address_free(vals["email"], self.id if len(self) == 1 else False)
        if vals.get("password") and not set(SERVER_FIELDS) & vals.keys():
            # a new password for a mailbox that works or worked: tried before it is stored
            for mailbox in self.filtered(lambda m: m.provider == "imap" and m.state != "draft" and m.active):
                mailbox._check_new_password(vals["password"])
        moved = self._moved_away(vals)
        repointed = self._repointed(vals)
        owners = {mailbox: mailbox.user_id for mailbox in self} if "user_id" in vals else {}
        archived = self.filtered("active") if vals.get("active") is False else self.browse()
        result = super().write(vals)
        for mailbox in moved:  # a stored password never goes to a server it was not typed for
            mailbox._set_secrets({"password": "", NEW_PASSWORD: ""})
        repointed._server_changed()
        for mailbox, previous in owners.items():
            if mailbox.user_id != previous:
                mailbox._owner_changed(previous)
        if archived:
            archived._archived()
        return result

    def _owner_changed(self, previous):
        """The previous owner stops following the mailbox, loses the sign-ins they had
        started for it, and both owners are told."""
        self.env["mail.mailbox.connect.attempt"].sudo().search(
            [("mailbox_id", "=", self.id), ("user_id", "=", previous.id)]
        ).unlink()
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
            mailbox._set_state("draft")
            mailbox.sudo().write({"token_expires_at": False, "next_check_at": False})
            if self.env.context.get("mcm_disconnecting"):
                continue  # Disconnect said it in its own words
            mailbox.message_post(
                body=_(
                    "Archived by %(user)s: credentials removed, synced data kept. Restore it and click "
                    "Connect to use it again.",
                    user=self.env.user.name,
                )
            )

    def _creation_message(self):
        return _("Mailbox created (not connected yet).")

    def _repointed(self, vals):
        """Custom mailboxes, once connected, whose server (host, port, security) or login
        would change."""
        keys = [key for key in SERVER_FIELDS if key in vals]
        if not keys:
            return self.browse()
        return self.filtered(
            lambda m: (
                m.provider == "imap" and m.state != "draft" and any((vals[k] or False) != (m[k] or False) for k in keys)
            )
        )

    def _server_changed(self):
        """A new server is not trusted until a check with it passes: the mailbox is “Not
        connected” (its mail waits, nothing is synced or checked) until Connect works."""
        for mailbox in self:
            mailbox._set_state("draft")
            mailbox.sudo().write(
                {
                    "next_check_at": False,
                    "last_error_date": fields.Datetime.now(),
                    "last_error_cause": _("The server settings changed: Odoo has not signed in to the new server yet."),
                    "last_error_fix": _("Click Connect to check the new server and connect the mailbox again."),
                }
            )
            mailbox.message_post(
                body=_(
                    "%(user)s changed the server settings: the mailbox is not connected until a check with "
                    "the new server works.",
                    user=self.env.user.name,
                )
            )

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
        self._gate_action()
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
        self._set_state("disabled")
        self.message_post(
            body=_(
                "Sync disabled by %(user)s. Nothing was deleted. Until it is enabled again, Odoo neither syncs nor "
                "checks it, and mail sent through it is held.",
                user=self.env.user.name,
            )
        )
        return True

    def action_enable(self):
        """Check access again and resume; the backfill window is fetched again."""
        self._check_can_act()
        self._gate_action()
        failed = self._check_credentials()
        if failed:
            cause, fix = self._render_diagnosis(failed.diagnosis)
            return self._notify(_("Sync stays off"), f"{cause}\n{fix}", "danger", reload=True)
        self._mark_connected(None, verb=_("Sync enabled"))
        self.sudo().write({"resync_since": fields.Datetime.now() - timedelta(days=self.backfill_days)})
        self._schedule_sync(reset=True)  # the window again: what Odoo has is matched, not fetched twice
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
        """Archive (which wipes the credentials); keep or delete what was synced."""
        for mailbox in self:
            if delete_synced_data:
                mailbox._delete_synced_data()
            mailbox.message_post(
                body=_(
                    "Disconnected by %(user)s: credentials removed, synced data %(fate)s.",
                    user=self.env.user.name,
                    fate=_("deleted") if delete_synced_data else _("kept"),
                )
            )
            mailbox.sudo().with_context(mcm_disconnecting=True).write({"active": False})

    def _wipe_credentials(self):
        self.ensure_one()
        self._retire_mail_server()
        self.env["mail.mailbox.secret"].sudo().search([("mailbox_id", "=", self.id)]).unlink()
        self.env["mail.mailbox.connect.attempt"].sudo().search([("mailbox_id", "=", self.id)]).unlink()

    def _delete_synced_data(self):
        """Remove what sync stored for these mailboxes: messages, their attachments, their
        copies in the chatter of contacts and leads, folders."""
        messages = (
            self.env["mail.mailbox.message"]
            .sudo()
            .with_context(active_test=False)
            .search([("mailbox_id", "in", self.ids)])
        )
        self.env["ir.attachment"].sudo().search(
            [("res_model", "=", messages._name), ("res_id", "in", messages.ids)]
        ).unlink()
        self.env["mail.message"].sudo().search([("mcm_message_id", "in", messages.ids)]).unlink()  # chatter copies
        messages.unlink()
        self.sudo().with_context(active_test=False).folder_ids.unlink()

    def _connect_with_password(self):
        if not (self.has_password or self._get_secret(NEW_PASSWORD)):
            raise UserError(_("Type the mailbox's password (or app password) first, then click Connect."))
        self._gate_action()
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
        text = _("%(address)s is connected.", address=self.email)
        if self.mcm_address_notice:  # where the owner's Odoo mail leaves from, and the fix
            text = f"{text} {self.mcm_address_notice}"
        return self._notify(_("Connected"), text, "success" if not self.mcm_address_notice else "warning", reload=True)

    def _notify(self, title, message, kind, reload=False):
        # never sticky: the form shows a failure's cause and fix itself, and a failure
        # toast left on screen would contradict the next success
        params = {"title": title, "message": message, "type": kind, "sticky": False}
        if reload:  # the form reloads the record (its "on close"), so the result shows on it
            params["next"] = {"type": "ir.actions.act_window_close"}
        return {"type": "ir.actions.client", "tag": "display_notification", "params": params}
