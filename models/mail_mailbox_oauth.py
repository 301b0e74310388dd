"""Google and Microsoft sign-in of a mailbox: start, callback, tokens.

The OAuth clients themselves live in ``mailbox_engine.oauth`` (plain Python); this
file passes them the app's settings and stores what they return, encrypted.
"""

import logging
from datetime import UTC, datetime, timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from ..mailbox_engine import diagnosis as diag_lib
from ..mailbox_engine import providers
from ..mailbox_engine.addresses import normalize_address
from ..mailbox_engine.connection_test import check_imap
from ..mailbox_engine.oauth import GoogleClient, MicrosoftClient, OAuthApp, OAuthError
from .mail_mailbox import PARAM
from .mail_mailbox_connect_attempt import state_hash

_logger = logging.getLogger(__name__)
TOKEN_MARGIN = timedelta(seconds=120)
CALLBACK_ERROR_MAX = 64  # an OAuth error code (RFC 6749 §4.1.2.1) is a short word
CALLBACK_DESCRIPTION_MAX = 500  # read only for a Microsoft AADSTS code, never shown


def callback_text(value, limit):
    """A parameter of the OAuth callback (anyone holding a link can send any), as plain
    text: printable characters only, at most ``limit`` of them."""
    text = value if isinstance(value, str) else ""
    return "".join(char for char in text if char.isprintable())[:limit]


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

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
    def _oauth_callback(self, provider, params, browser_secret=""):
        """Finish a sign-in coming back from the provider.

        Returns ``(mailbox, None)`` when connected, or ``(mailbox or None, error)`` where
        ``error`` is ``{"title", "cause", "fix", "kept"}``. A refused sign-in changes no
        credentials and no status; it is recorded on the mailbox (what happened, and in
        the chatter), and its one-time state is spent.
        """
        Attempts = self.env["mail.mailbox.connect.attempt"]
        attempt, message = Attempts._consume(provider, params.get("state"), browser_secret)
        if not attempt:
            return None, {"title": _("Sign-in refused"), "cause": message, "fix": "", "kept": ""}
        link = attempt.link_id
        mailbox = attempt.mailbox_id.with_env(self.env)
        if link:  # whoever holds the link, without an Odoo login
            mailbox = mailbox.sudo().with_context(mcm_link_id=link.id)
        try:
            if not link:
                mailbox.check_access("write")
            with self.env.cr.savepoint():
                mailbox._finish_oauth(attempt, params)
        except OAuthError as exc:
            cause, fix = mailbox._render_diagnosis(exc.diagnosis)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            # e.g. the encryption key was rotated at that very moment; the authorization code
            # is spent, so a retry of this request could not succeed: ask for a new sign-in
            _logger.warning("The sign-in of mailbox %s met a concurrent change; the user is asked to retry", mailbox.id)
            cause = _("Odoo could not store the sign-in because the mailbox changed at that very moment.")
            fix = _("Sign in again: open the mailbox and click Connect (or Reconnect).")
        except AccessError:  # its own text may name the mailbox: say it in our words
            cause = _("You can no longer change this mailbox: it may have been given to another user.")
            fix = _("Ask the mailbox's owner or an administrator.")
        except (UserError, ValidationError) as exc:
            cause, fix = exc.args[0], ""
        except Exception:
            _logger.exception("Unexpected failure while finishing the sign-in of mailbox %s", mailbox.id)
            cause = _("Odoo could not finish the sign-in because of an unexpected error.")
            fix = _("Try again; if it fails again, ask your administrator to look at the server log.")
        else:
            if link:
                link._used()
            return mailbox, None
        return mailbox, mailbox._sign_in_refused(cause, fix)

    def _connected_notice(self):
        """What the web client says once back from a sign-in that worked, as Connect
        with a password does (a toast)."""
        self.ensure_one()
        return {
            "title": _("Connected"),
            "message": _("%(address)s is connected.", address=self.email),
            "type": "success",
        }

    @api.model
    def _is_link_state(self, state):
        """Whether ``state`` belongs to a sign-in started from a shareable link."""
        attempt = self.env["mail.mailbox.connect.attempt"].sudo().search([("state_hash", "=", state_hash(state))])
        return bool(state and attempt.link_id)

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
            # sent by whoever came back to the callback: text, capped, never HTML
            payload = {
                "error": callback_text(params["error"], CALLBACK_ERROR_MAX) or "error",
                "error_description": callback_text(params.get("error_description"), CALLBACK_DESCRIPTION_MAX),
            }
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
            self.write({"email": grant.email, "login": grant.email})  # the name follows (_compute_name)
        self._store_grant(grant)
        steps = check_imap(self._server("imap", grant.access_token), self.email)
        if not steps[-1].ok:
            raise OAuthError(steps[-1].diagnosis)
        self._record_checks(steps, [])
        self._mark_connected(grant.access_token)

    def _store_grant(self, grant):
        self._store_grants([(self, grant)])

    @api.model
    def _store_grants(self, pairs):
        """Store ``(mailbox, Grant)`` pairs: their secrets written together (one key box)."""
        values = {}
        for mailbox, grant in pairs:
            secrets = values.setdefault(mailbox.id, {"access_token": grant.access_token})
            if grant.refresh_token:
                secrets["refresh_token"] = grant.refresh_token
            if grant.token_cache:
                secrets["token_cache"] = grant.token_cache
        self.env["mail.mailbox.secret"]._write_secrets_many(values)
        untracked = self.sudo().with_context(tracking_disable=True)  # the expiry is not tracked
        for mailbox, grant in pairs:
            expires = datetime.fromtimestamp(grant.expires_at, UTC).replace(tzinfo=None)
            untracked.browse(mailbox.id).token_expires_at = expires

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
