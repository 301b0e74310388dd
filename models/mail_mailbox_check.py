"""Checks of a mailbox's access and what they do to its status.

Every check of the credentials (Connect, Reconnect, Test connection, Enable) goes
through :meth:`_check_credentials`, which applies the result: the status, what
happened and how to fix it. The step-by-step checks themselves live in
``mailbox_engine.connection_test`` (plain Python).
"""

import logging
from datetime import timedelta

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..mailbox_engine import diagnosis as diag_lib
from ..mailbox_engine import imap as imap_lib
from ..mailbox_engine import netgate, providers
from ..mailbox_engine.connection_test import Server, Step, check_imap, check_smtp
from ..mailbox_engine.oauth import OAuthError
from .mail_mailbox import ADMIN_GROUP, CHECKS_PER_MINUTE, NEW_PASSWORD, PARAM

_logger = logging.getLogger(__name__)


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    def _server(self, kind, oauth_token=None, password=None):
        """Where and as whom to sign in. ``password``: the one to use (default: the stored
        one, unless a token is given; ``""`` reads no secret)."""
        info = providers.PROVIDERS[self.provider]
        # Google and Microsoft: always their servers (as configured by an administrator),
        # never a host written on the record: a token goes nowhere else
        where = self._prepare_provider_servers(info) if info.oauth else self
        if password is None:
            password = "" if oauth_token else self._get_secret("password")
        return Server(
            host=where[f"{kind}_host"] or "",
            port=where[f"{kind}_port"],
            security=where[f"{kind}_security"],
            login=self.login or self.email or "",
            password=password,
            oauth_token=oauth_token or "",
            label=providers.PROVIDERS[self.provider].label if self.provider != "imap" else "",
            policy=self._gate_policy(),
        )

    def _gate_policy(self):
        """Where the gate (``mailbox_engine.netgate``) lets this mailbox's connections go:
        Google's and Microsoft's servers (or those an administrator set for them) anywhere;
        a custom server only to public addresses, unless Settings allow private networks
        or the owner is a mailbox administrator. Every connection is checked, whoever
        starts it (a button, the reconnect link, the scheduled check and sync, sending)."""
        if providers.PROVIDERS[self.provider].oauth:
            return netgate.ANYWHERE
        if self.env["ir.config_parameter"].sudo().get_param(PARAM + "allow_private_hosts"):
            return netgate.ANYWHERE
        return netgate.ANYWHERE if self.sudo().user_id.has_group(ADMIN_GROUP) else netgate.PUBLIC_ONLY

    def _gate_action(self, user=None, count=True):
        """Before a person's action connects to these mailboxes' custom servers (Test
        connection, Connect, Reconnect, Check now, Sync now, Enable, listing folders,
        fetching a message, the reconnect link): the per-user rate (``user``: who is
        counted, by default the current user; mailbox administrators are not) and the
        host check, refused with a clear error before any connection is opened.
        Scheduled work is not counted; its connections meet the same host check."""
        custom = self.filtered(lambda mailbox: not providers.PROVIDERS[mailbox.provider].oauth)
        if not custom:
            return
        user = user or self.env.user
        if count and not (user._is_superuser() or user.has_group(ADMIN_GROUP)):
            self.env["mail.mailbox.check.counter"]._count_check(CHECKS_PER_MINUTE, user=user, count=len(custom))
        for mailbox in custom:
            policy = mailbox._gate_policy()
            for kind in ("imap", "smtp"):
                host = mailbox[f"{kind}_host"]
                if host and not netgate.check(host, mailbox[f"{kind}_port"], policy):
                    # the address the name stands for is not shown: that would answer DNS questions
                    cause, fix = mailbox._render_diagnosis(diag_lib.diagnose("host_refused", "PRIVATE", host=host))
                    raise UserError(_("%(cause)s %(fix)s", cause=cause, fix=fix))

    def _run_checks(self):
        """(IMAP steps, SMTP steps); an OAuth token problem is reported as a “Sign-in” step.

        When the server refuses an OAuth token, the token is refreshed once: the provider's
        answer to that (revoked, consent, MFA, throttling…) is the real diagnosis."""
        self.ensure_one()
        if self.provider == "imap":
            password = self._get_secret(NEW_PASSWORD) or None  # a password just typed is tried first
            imap_steps = check_imap(self._server("imap", password=password), self.email)
            if not imap_steps[-1].ok:
                return imap_steps, []
            return imap_steps, check_smtp(self._server("smtp", password=password), self.email)
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

    def _check_new_password(self, password):
        """A new password typed for a mailbox that was connected is tried before it is
        stored (on Save): refused, nothing is stored, the previous password stays, and
        the user is told at once, with the cause and the fix."""
        self.ensure_one()
        self._gate_action()
        imap_steps = check_imap(self._server("imap", password=password), self.email)
        steps = imap_steps
        if imap_steps[-1].ok:
            steps = imap_steps + check_smtp(self._server("smtp", password=password), self.email)
        failed = next((step for step in steps if not step.ok), None)
        if failed:
            cause, fix = self._render_diagnosis(failed.diagnosis)
            raise UserError(
                _(
                    "The new password was refused (“%(step)s” failed), so it was not saved: %(address)s keeps "
                    "its previous password.\n%(cause)s\n%(fix)s",
                    step=failed.name,
                    address=self.email,
                    cause=cause,
                    fix=fix,
                )
            )

    def _record_checks(self, imap_steps, smtp_steps):
        """Write the step-by-step report; return the failed step, if any."""
        steps = [("IMAP", step) for step in imap_steps] + [("SMTP", step) for step in smtp_steps]
        return self._write_check_report(steps)

    def _write_check_report(self, steps):
        """Write the report of one check, ``steps`` being (protocol, :class:`Step`), as the
        Last check tab shows it; return the failed step, if any."""
        values, failed = self._check_report_values(steps)
        self.sudo().write(values)
        return failed

    def _check_report_values(self, steps):
        """What :meth:`_write_check_report` writes, and the failed step (to write it
        together with the check's other values)."""
        lines = []
        failed = None
        for kind, step in steps:
            if step.ok:
                lines.append(f"✔ {kind} {step.name}: {step.detail}")
            else:
                cause, fix = self._render_diagnosis(step.diagnosis)
                lines.append(f"✘ {kind} {step.name}: {cause} {fix}")
                failed = step
        return {"last_check_date": fields.Datetime.now(), "last_check_report": "\n".join(lines)}, failed

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
            if not failed:  # a new password signed in: a reconnect, whatever the status was
                self.env["mail.mailbox.reconnect.link"]._end_reconnected(self)
        elif failed and self.state == "draft" and failed.diagnosis.kind == "password":
            self._set_secrets({"password": ""})
        if self.state != "draft":
            result = (failed.diagnosis.state or "transient") if failed else "ok"
            self._log_check("manual", result, failed and failed.diagnosis, failed.name if failed else "")
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
        if self.state not in ("draft", "disabled", "auth_lost"):
            # a failure found while sending or syncing: the health check looks again soon
            # (a throttled mailbox when the provider said it may try again)
            self._schedule_check(diagnosis.retry_after if diagnosis.state == "throttled" else 60)
        if change_state and diagnosis.state and self.state not in ("draft", "disabled"):
            self._set_state(diagnosis.state, diagnosis)
            return
        cause, fix = self._render_diagnosis(diagnosis)
        self.sudo().write({"last_error_date": fields.Datetime.now(), "last_error_cause": cause, "last_error_fix": fix})

    def _clear_error(self):
        self.sudo().write({"last_error_cause": False, "last_error_fix": False, "last_error_date": False})

    def _mark_connected(self, oauth_token, verb=None):
        was = self.state
        self._sync_mail_server()
        self._set_state("connected")
        # signed in again (also when it was connected already: a new OAuth grant): links die
        self.env["mail.mailbox.reconnect.link"]._end_reconnected(self)
        now = fields.Datetime.now()
        self.sudo().write({"last_check_date": now, "next_check_at": now + timedelta(minutes=self._health_interval())})
        self._clear_error()
        self._refresh_folders(oauth_token)
        self._schedule_sync()
        if self._reconnect_link():
            return  # the link says who reconnected it, and tells whoever made it (``_used``)
        verb = verb or (_("Reconnected") if was != "draft" else _("Connected"))
        body = _("%(verb)s by %(user)s.", verb=verb, user=self.env.user.name)
        if self.mcm_address_notice:  # said at connect: the owner's Odoo mail does not go through it
            body = f"{body} {self.mcm_address_notice}"
        self.message_post(body=body)

    def _reconnect_link(self):
        """The shareable link this mailbox is being reconnected through right now, if any."""
        link_id = self.env.context.get("mcm_link_id")
        return self.env["mail.mailbox.reconnect.link"].sudo().browse(link_id) if link_id else None

    def _refresh_folders(self, oauth_token=None):
        try:
            if providers.PROVIDERS[self.provider].oauth and not oauth_token:
                oauth_token = self._get_access_token()
            with imap_lib.session(self._server("imap", oauth_token), self.email) as client:
                listed = imap_lib.list_folders(client, gmail=self.provider == "google")
        except Exception:  # the sign-in worked a moment ago; folders can be listed again from the form
            _logger.warning("Could not list the folders of mailbox %s", self.id, exc_info=True)
            return False
        self.env["mail.mailbox.folder"].sudo()._sync_from_server(self, listed)
        return True

    def _render_diagnosis(self, diagnosis):
        """(cause, fix), translated, with the placeholders filled in; the fix names the
        button the form shows (Connect until the mailbox was connected once)."""
        button = self.env._("Connect") if self.state == "draft" else self.env._("Reconnect")
        return diagnosis.render(self.env._, button)  # pylint: disable=translation-required
