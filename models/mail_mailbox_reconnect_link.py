import hashlib
import secrets
from datetime import timedelta

from odoo import _, api, fields, models

DEFAULT_DAYS = 7
MAX_FAILED_TRIES = 5  # passwords refused through one link before it dies


def token_hash(token):
    return hashlib.sha256((token or "").encode()).hexdigest()


class MailMailboxReconnectLink(models.Model):
    """A shareable link that lets whoever holds the inbox reconnect a mailbox without
    an Odoo login. Random (256 bits), stored hashed, expiring, single-use, and dead as
    soon as the mailbox is reconnected any other way. No access rights: the mailbox's
    buttons and the public page read it as the server."""

    _name = "mail.mailbox.reconnect.link"
    _description = "Shareable reconnect link"
    _order = "id desc"

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True)
    token_hash = fields.Char(required=True, index=True)
    expires_at = fields.Datetime(required=True)
    failed_tries = fields.Integer()
    ended_at = fields.Datetime()
    ended_how = fields.Selection(
        [("used", "Used"), ("reconnected", "Reconnected another way"), ("refused", "Too many refused passwords")]
    )

    _sql_constraints = [("token_hash_uniq", "unique(token_hash)", "A link is made once.")]

    @api.model
    def _make(self, mailbox):
        """A new link for ``mailbox``; returns (record, URL with the token). The token is
        never stored: only its hash."""
        days = int(self.env["ir.config_parameter"].sudo().get_param("mail_connected_mailbox.link_days") or DEFAULT_DAYS)
        token = secrets.token_urlsafe(32)
        link = self.sudo().create(
            {
                "mailbox_id": mailbox.id,
                "token_hash": token_hash(token),
                "expires_at": fields.Datetime.now() + timedelta(days=max(1, days)),
            }
        )
        return link, f"{mailbox.get_base_url()}/mailbox/reconnect/{token}"

    @api.model
    def _find(self, token):
        """The link for ``token`` if it still works; an empty recordset otherwise (the
        caller says the same thing whatever the reason: nothing is revealed)."""
        if not token or len(token) > 100:
            return self.browse()
        return self._still_works(self.sudo().search([("token_hash", "=", token_hash(token))], limit=1))

    @api.model
    def _find_by_id(self, link_id):
        return self._still_works(self.sudo().browse(link_id).exists())

    @api.model
    def _still_works(self, link):
        if (
            not link
            or link.ended_at
            or link.expires_at < fields.Datetime.now()
            or not link.mailbox_id.active
            or link.mailbox_id.state in ("draft", "disabled")
        ):
            return self.browse()
        return link

    def _end(self, how):
        self.filtered(lambda link: not link.ended_at).sudo().write(
            {"ended_at": fields.Datetime.now(), "ended_how": how}
        )

    def _used(self):
        """The mailbox was reconnected through this link: end it, tell whoever made it."""
        self.ensure_one()
        self._end("used")
        mailbox = self.mailbox_id
        mailbox.message_post(
            body=_(
                "Reconnected through the shareable link made by %(user)s.",
                user=self.create_uid.name,
            ),
            partner_ids=self.create_uid.partner_id.ids,
            subtype_xmlid="mail.mt_comment",
            author_id=self.env.ref("base.partner_root").id,
        )

    def _refused(self):
        """A password refused through this link: after a few, the link dies."""
        self.ensure_one()
        self.sudo().failed_tries += 1
        if self.failed_tries >= MAX_FAILED_TRIES:
            self._end("refused")

    @api.autovacuum
    def _gc_links(self):
        edge = fields.Datetime.now() - timedelta(days=30)
        self.sudo().search([("expires_at", "<", edge)]).unlink()
