import hashlib
import secrets
from datetime import timedelta

import psycopg2.errors

from odoo import _, api, fields, models
from odoo.tools import SQL

ATTEMPT_LIFETIME = timedelta(minutes=30)


def state_hash(state):
    return hashlib.sha256((state or "").encode()).hexdigest()


class MailMailboxConnectAttempt(models.Model):
    """One OAuth sign-in in progress: who started it, for which mailbox, with which secret.

    The ``state`` sent to the provider is a random one-time value; only its hash is
    kept. The PKCE verifier (Google) or msal's flow (Microsoft) is kept encrypted.
    No access rights: only the server reads this model.
    """

    _name = "mail.mailbox.connect.attempt"
    _description = "Mailbox sign-in attempt"

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")
    provider = fields.Char(required=True)
    state_hash = fields.Char(required=True, index=True)
    secret = fields.Text()
    key_id = fields.Many2one("mail.mailbox.key", ondelete="restrict", help="The database key that encrypted it.")
    expires_at = fields.Datetime(required=True)
    used = fields.Boolean()
    link_id = fields.Many2one("mail.mailbox.reconnect.link", ondelete="cascade", help="Started from a shareable link.")
    browser_hash = fields.Char(help="For a link: the hash of a secret kept in the browser's session that started it.")

    _sql_constraints = [("state_hash_uniq", "unique(state_hash)", "A sign-in state is used once.")]

    @api.model
    def _new(self, mailbox, secret_factory, link=None, browser_secret=""):
        """Start an attempt; ``secret_factory(state)`` returns (url, secret). Returns the URL.
        From a shareable ``link``: bound to the browser holding ``browser_secret``
        (its session), not to an Odoo user."""
        state = secrets.token_urlsafe(32)
        url, secret = secret_factory(state)
        value, key = self.env["mail.mailbox.key"]._encrypt(secret)
        self.sudo().create(
            {
                "link_id": link.id if link else False,
                "browser_hash": state_hash(browser_secret) if link else False,
                "mailbox_id": mailbox.id,
                "user_id": self.env.uid,
                "provider": mailbox.provider,
                "state_hash": state_hash(state),
                "secret": value,
                "key_id": key.id,
                "expires_at": fields.Datetime.now() + ATTEMPT_LIFETIME,
            }
        )
        return url

    @api.model
    def _consume(self, provider, state, browser_secret=""):
        """The attempt for ``state``, marked used; or an error message (never both).

        Checks: the state exists for this provider, was not used, has not expired and
        was started by the current user.
        """
        attempt = self.sudo().search([("state_hash", "=", state_hash(state)), ("provider", "=", provider)], limit=1)
        if not state or not attempt:
            return self, _(
                "This sign-in answer does not match any sign-in started from this Odoo (the link may "
                "have been altered or copied). Open the mailbox and click Connect again."
            )
        if attempt.used:
            return self, _(
                "This sign-in answer was already used. If the mailbox is not connected, open it and "
                "click Connect again."
            )
        if attempt.link_id:
            if not browser_secret or state_hash(browser_secret) != attempt.browser_hash:
                return self, _(
                    "This sign-in was started in another browser. Open the shareable link again in this "
                    "browser and sign in from there."
                )
            if not self.env["mail.mailbox.reconnect.link"]._find_by_id(attempt.link_id.id):
                return self, _("This shareable link no longer works. Ask for a new one.")
        elif attempt.user_id != self.env.user:
            return self, _(
                "This sign-in was started by another Odoo user. Sign in to Odoo as that user, or "
                "open your own mailbox and click Connect."
            )
        if not attempt._claim():
            return self, _(
                "This sign-in answer was already used (the page was probably opened twice). If the "
                "mailbox is not connected, open it and click Connect again."
            )
        if attempt.expires_at < fields.Datetime.now():
            return self, _(
                "This sign-in took longer than %(minutes)s minutes and expired. Open the mailbox "
                "and click Connect again.",
                minutes=int(ATTEMPT_LIFETIME.total_seconds() // 60),
            )
        return attempt, ""

    def _claim(self):
        """Mark the attempt used, unless another request holds or already spent it.

        Two callbacks with the same state arrive at once when a page is reloaded or a
        link opened twice: the second must get the refusal page, not a crashed
        transaction."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT used FROM mail_mailbox_connect_attempt WHERE id = %s FOR UPDATE SKIP LOCKED",
                        self.id,
                    ),
                    log_exceptions=False,  # an expected outcome, not a bad query
                )
                row = self.env.cr.fetchone()
        except psycopg2.errors.SerializationFailure:  # spent by a request that ended meanwhile
            return False
        if not row or row[0]:
            return False
        self.sudo().used = True
        self.flush_recordset(["used"])
        return True

    def _get_secret(self):
        self.ensure_one()
        return self.env["mail.mailbox.key"]._get_box().decrypt(self.sudo().secret)

    @api.autovacuum
    def _gc_attempts(self):
        limit = fields.Datetime.now() - timedelta(days=1)
        self.sudo().search([("expires_at", "<", limit)]).unlink()
