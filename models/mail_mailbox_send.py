"""Sending through the user's own mailbox: its outgoing server, kept in step with it,
and the SMTP sign-in (XOAUTH2 with a cached token, or the password)."""

import logging
import smtplib

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..mailbox_engine import diagnosis as diag_lib
from ..mailbox_engine import imap as imap_lib
from ..mailbox_engine import providers
from ..mailbox_engine import smtp as smtp_lib
from ..mailbox_engine.connection_test import diagnosis_params
from ..mailbox_engine.oauth import OAuthError
from .ir_mail_server import SENT_COPIES, STOPPED_MAILBOXES
from .mail_mailbox import ADMIN_GROUP, PARAM, count_shown, counted

_logger = logging.getLogger(__name__)
SERVER_SEQUENCE = 5  # before Odoo's usual servers, for the mailbox's own address
ENCRYPTION = {providers.SECURITY_SSL: "ssl", providers.SECURITY_STARTTLS: "starttls", providers.SECURITY_NONE: "none"}


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    # ------------------------------------------------------------------ who sends through it
    def _mcm_lets_send(self, writers):
        """Whether mail written by ``writers`` (users) may leave as this mailbox: each is
        its owner or named in its *Who else may send through it*."""
        self.ensure_one()
        mailbox = self.sudo()
        return bool(writers) and not (writers.sudo() - mailbox.user_id - mailbox.sender_user_ids)

    def _mcm_foreign_reason(self, writers):
        """Why mail written by ``writers`` does not leave as this mailbox, and who may send."""
        self.ensure_one()
        mailbox = self.sudo()
        others = mailbox.sender_user_ids - mailbox.user_id
        return _(
            "Not sent: %(address)s is the connected mailbox of %(owner)s, and only %(owner)s and the users "
            "under “Who else may send through it” on that mailbox (%(allowed)s) may send from it; this mail was "
            "on behalf of %(writers)s. Ask %(owner)s to add them there, or send from your own address.",
            address=mailbox.email,
            owner=mailbox.user_id.name,
            allowed=", ".join(others.mapped("name")) or _("nobody yet"),
            writers=", ".join((writers.sudo() - mailbox.user_id - mailbox.sender_user_ids).mapped("name")),
        )

    def _mcm_check_owner_or_admin(self, senders_too=False):
        """Refuse unless the current user owns this mailbox or is a mailbox administrator
        (or, with ``senders_too``, may send through it)."""
        self.ensure_one()
        if self.env.su or self.env.user.has_group(ADMIN_GROUP) or self.sudo().user_id == self.env.user:
            return
        if senders_too:
            if self._mcm_lets_send(self.env.user):
                return
            raise AccessError(
                _(
                    "Only the owner of this mailbox, the users it lets send and mailbox administrators may sign "
                    "in to its server."
                )
            )
        raise AccessError(
            _(
                "Only the owner of this mailbox and mailbox administrators may test its server: a test signs "
                "in with the owner's password or token."
            )
        )

    def _get_mail_server(self):
        self.ensure_one()
        return (
            self.env["ir.mail_server"]
            .sudo()
            .with_context(active_test=False)
            .search([("mcm_mailbox_id", "=", self.id)], limit=1)
        )

    def _prepare_mail_server_values(self):
        server = self._server("smtp", password="")  # where and who; no secret is read
        return {
            "name": _("Mailbox %(address)s", address=self.email),
            "sequence": SERVER_SEQUENCE,
            "smtp_host": server.host,
            "smtp_port": server.port,
            "smtp_encryption": ENCRYPTION[server.security],
            "smtp_authentication": "mcm_mailbox",
            "smtp_user": server.login,
            "smtp_pass": False,
            "from_filter": self.email_normalized or self.email,
            "mcm_mailbox_id": self.id,
            "active": True,
        }

    def _sync_mail_server(self):
        """Create or update the mailbox's outgoing server (at connect and reconnect)."""
        for mailbox in self:
            values = mailbox._prepare_mail_server_values()
            server = mailbox._get_mail_server()
            if server:
                server.write(values)
            else:
                self.env["ir.mail_server"].sudo().create(values)

    def _retire_mail_server(self):
        """Remove the mailbox's outgoing server (at disconnect): its address goes through
        Odoo's usual servers again."""
        for mailbox in self:
            mailbox._get_mail_server().unlink()

    def _smtp_login(self, connection):
        """Sign in on an open SMTP ``connection`` as this mailbox; raise
        :class:`smtplib.SMTPAuthenticationError` unless the server answers 235.

        A refusal is diagnosed (with the provider's own answer for OAuth mailboxes, after
        one forced token refresh) and applied to the mailbox's status."""
        self.ensure_one()
        oauth = providers.PROVIDERS[self.provider].oauth
        try:
            token = self._get_access_token() if oauth else ""
            code, answer = self._smtp_authenticate(connection, token)
            if code != 235 and oauth:
                token = self._get_access_token(force=True)
                code, answer = self._smtp_authenticate(connection, token)
        except OAuthError as exc:
            self._apply_diagnosis(exc.diagnosis)
            cause, _fix = self._render_diagnosis(exc.diagnosis)
            raise smtplib.SMTPAuthenticationError(535, cause.encode()) from None
        if code != 235:
            params = self._smtp_diagnosis_params()
            self._apply_diagnosis(diag_lib.from_smtp_error(code, answer, with_password=not oauth, **params))
            raise smtplib.SMTPAuthenticationError(code, answer)

    def _smtp_connect_diagnosis(self, exc):
        """Why the SMTP session could not open, in Odoo's words (never the other side's)."""
        server = self._server("smtp", password="")
        params = diagnosis_params(server, "SMTP", self.email)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return diag_lib.diagnose("no_starttls", "STARTTLS", **params)
        if isinstance(exc, smtplib.SMTPException) and not isinstance(exc, smtplib.SMTPServerDisconnected):
            return diag_lib.diagnose("not_mail", "SMTP", **params)  # NotSMTPError, a refused greeting…
        if isinstance(exc, OSError | EOFError):
            return diag_lib.from_network_error(exc, timeout=server.timeout, tls=server.security != "none", **params)
        return None

    def _smtp_diagnosis_params(self):
        """The placeholders of a diagnosis about this mailbox's SMTP server."""
        return diagnosis_params(self._server("smtp", password=""), "SMTP", self.email)

    def _smtp_authenticate(self, connection, token):
        server = self._server("smtp", oauth_token=token)  # the stored password, never one just typed
        return smtp_lib.authenticate(connection, server.login, server.password, token, self.email)

    # ------------------------------------------------------------------ held mail
    def _hold_reason(self):
        """Why mail of this mailbox waits, in a salesperson's words."""
        self.ensure_one()
        address = self.email
        if not self.active:
            return _("%(address)s is archived: it leaves once the mailbox is restored and connected", address=address)
        if self.state == "auth_lost":
            return _("access to %(address)s was lost: it leaves once the mailbox is reconnected", address=address)
        if self.state == "throttled":
            return _("%(address)s is limited by its provider: it leaves when the limit lifts", address=address)
        if self.state == "error":
            return _("%(address)s has a server or configuration problem: it leaves once fixed", address=address)
        if self.state == "disabled":
            return _("%(address)s is disabled: it leaves once the mailbox is enabled again", address=address)
        return _("%(address)s is not connected: it leaves once it is connected", address=address)

    def _limit_reason(self, next_time):
        """Why mail of this mailbox waits for its sending limit, and until when (UTC)."""
        self.ensure_one()
        return _(
            "the sending limits of %(address)s (%(limits)s) are reached: it leaves at %(time)s UTC",
            address=self.email,
            limits=self._limits_text(),
            time=fields.Datetime.to_string(next_time),
        )

    def _limits_text(self):
        parts = []
        if self.send_limit_minute:
            parts.append(
                counted(
                    self.env, self.send_limit_minute, _("%(count)s message a minute"), _("%(count)s messages a minute")
                )
            )
        if self.send_limit_day:
            parts.append(
                counted(self.env, self.send_limit_day, _("%(count)s message a day"), _("%(count)s messages a day"))
            )
        if self.send_limit_recipients_day:
            parts.append(
                counted(
                    self.env,
                    self.send_limit_recipients_day,
                    _("%(count)s recipient a day"),
                    _("%(count)s recipients a day"),
                )
            )
        return ", ".join(parts)

    def _compute_held_mail(self):
        groups = (
            self.env["mail.mail"]
            .sudo()
            ._read_group(
                [("mcm_mailbox_id", "in", self.ids), ("mcm_hold_reason", "!=", False), ("state", "=", "outgoing")],
                ["mcm_mailbox_id"],
                ["__count", "create_date:min"],
            )
        )
        found = {mailbox.id: (count, oldest) for mailbox, count, oldest in groups}
        for mailbox in self:
            mailbox.held_mail_count, mailbox.held_mail_since = found.get(mailbox.id, (0, False))
            mailbox.held_mail_text = counted(
                self.env,
                mailbox.held_mail_count,
                _("%(count)s message waits to leave through this mailbox"),
                _("%(count)s messages wait to leave through this mailbox"),
            )

    def _on_sending_stopped(self):
        """The mailbox cannot send any more (access lost, throttled, error, disabled): its
        queued mail is held, and its campaigns pause (not for throttling, which passes)."""
        self.env.cr.cache.setdefault(STOPPED_MAILBOXES, set()).update(self.ids)
        Mailing = self.env["mailing.mailing"]
        for mailbox in self:
            self.env["mail.mail"]._mcm_hold_queued(mailbox)
            if mailbox.state != "throttled":
                Mailing._mcm_of_mailbox(mailbox, ("in_queue", "sending"))._mcm_pause(mailbox)

    def _on_sending_resumed(self):
        """The mailbox is connected again: what it held leaves, paced by its sending
        limits, oldest first; its paused campaigns resume by themselves or wait for a
        click, as Settings say. The mailbox says what is waiting and what resumes."""
        auto = self.env["ir.config_parameter"].sudo().get_param(PARAM + "resume_campaigns") == "auto"
        since = self.env.context.get("mcm_stopped_since")
        for mailbox in self:
            # before anything leaves: what came in while access was lost, so that the
            # summary shows the replies and nobody answers blind
            came_in = mailbox._catch_up(since) if since else self.env["mail.mailbox.message"]
            if mailbox.state != "connected":  # the catch-up found it down again: what it holds stays held
                continue
            released = self.env["mail.mail"]._mcm_release(mailbox)
            paused = self.env["mailing.mailing"]._mcm_of_mailbox(mailbox, ("paused",))
            remaining = paused._mcm_recipients_to_go()
            if paused and auto:
                paused._mcm_resume()
            if released or paused or came_in:
                body = mailbox._resume_summary(len(released), paused, remaining, auto)
                mailbox.message_post(body=Markup(" ").join(filter(None, [body, came_in._came_in_summary()])))

    def _resume_summary(self, released, paused, remaining, auto):
        parts = []
        if released:
            pace = self._limits_text()
            parts.append(
                counted(
                    self.env,
                    released,
                    _("%(count)s waiting message leaves now"),
                    _("%(count)s waiting messages leave now, oldest first"),
                )
                + (_(" (at most %(limits)s)", limits=pace) if pace else "")
                + "."
            )
        if paused:
            names = diag_lib.shown(", ".join(paused.mapped("subject")), limit=500)
            to_go = counted(self.env, remaining, _("%(count)s recipient to go"), _("%(count)s recipients to go"))
            if auto:
                text = _(
                    "Campaigns resumed where they stopped (%(count)s, %(to_go)s): %(names)s.",
                    count=count_shown(self.env, len(paused)),
                    to_go=to_go,
                    names=names,
                )
            else:
                text = _(
                    "Paused campaigns waiting for a click on Resume (%(count)s, %(to_go)s): %(names)s.",
                    count=count_shown(self.env, len(paused)),
                    to_go=to_go,
                    names=names,
                )
            parts.append(text)
        return " ".join(parts)

    # ------------------------------------------------------------------ Sent copy
    @api.model
    def _file_sent_copies(self):
        """File the copies noted while sending (:meth:`ir.mail_server.send_email`) in each
        mailbox's Sent folder: once, even when a mail is sent again (by its Message-ID).
        A copy that cannot be filed is logged; it never fails what was sent."""
        pending = self.env.cr.cache.pop(SENT_COPIES, [])
        by_mailbox = {}
        for mailbox_id, raw, message_id in pending:
            by_mailbox.setdefault(mailbox_id, []).append((raw, message_id))
        for mailbox_id, copies in by_mailbox.items():
            mailbox = self.sudo().browse(mailbox_id)
            sent = mailbox.folder_ids.filtered(lambda f: f.special_use == "\\Sent" and f.present)[:1]
            if not sent:
                _logger.info("Mailbox %s has no Sent folder: %s sent copies not filed", mailbox_id, len(copies))
                continue
            try:
                with imap_lib.session(mailbox._server("imap"), mailbox.email) as client:
                    for raw, message_id in copies:
                        imap_lib.append_once(client, sent.path, raw, message_id)
            except Exception:  # the mail left; only its copy is missing
                _logger.warning("Could not file %s sent copies for mailbox %s", len(copies), mailbox_id, exc_info=True)
