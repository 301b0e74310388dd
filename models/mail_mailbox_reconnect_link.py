import hashlib
import secrets
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..mailbox_engine import providers
from ..mailbox_engine.diagnosis import shown
from ..mailbox_engine.domains import clean_host, host_serves_address
from .mail_mailbox import ADMIN_GROUP

DEFAULT_DAYS = 7
MAX_FAILED_TRIES = 5  # passwords refused through one link before it dies


def token_hash(token):
    return hashlib.sha256((token or "").encode()).hexdigest()


class MailMailboxReconnectLink(models.Model):
    """A shareable link that lets whoever holds the inbox reconnect a mailbox without
    an Odoo login. Random (256 bits), stored hashed, expiring, single-use, and dead as
    soon as the mailbox is reconnected any other way. No access rights: the mailbox's
    buttons and the public page read it as the server.

    The password typed on the page of a custom mailbox goes to its servers: the owner
    makes a link only when those servers belong to the address's own domain (or are a
    known provider's), else only a mailbox administrator does; the link works only
    while the mailbox keeps the servers it was made for, and the page names them.

    "Reconnected another way" is any sign-in with new credentials (a password checked
    by Reconnect or Connect, an OAuth sign-in that finishes, another link) and any
    return to Connected (Reconnect, Enable, a check that finds access works again)."""

    _name = "mail.mailbox.reconnect.link"
    _description = "Shareable reconnect link"
    _order = "id desc"

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True)
    token_hash = fields.Char(required=True, index=True)
    expires_at = fields.Datetime(required=True)
    failed_tries = fields.Integer()
    ended_at = fields.Datetime()
    server_hosts = fields.Char(help="The servers the password typed on the link goes to, when it was made.")
    ended_how = fields.Selection(
        [("used", "Used"), ("reconnected", "Reconnected another way"), ("refused", "Too many refused passwords")]
    )

    _sql_constraints = [("token_hash_uniq", "unique(token_hash)", "A link is made once.")]

    @api.model
    def _make(self, mailbox):
        """A new link for ``mailbox``; returns (record, URL with the token). The token is
        never stored: only its hash."""
        self._check_may_make(mailbox)
        days = int(self.env["ir.config_parameter"].sudo().get_param("mail_connected_mailbox.link_days") or DEFAULT_DAYS)
        token = secrets.token_urlsafe(32)
        link = self.sudo().create(
            {
                "mailbox_id": mailbox.id,
                "token_hash": token_hash(token),
                "server_hosts": "\n".join(self._password_hosts(mailbox)),
                "expires_at": fields.Datetime.now() + timedelta(days=max(1, days)),
            }
        )
        return link, f"{mailbox.get_base_url()}/mailbox/reconnect/{token}"

    @api.model
    def _password_hosts(self, mailbox):
        """The servers a password typed on the link would go to (none for Google and
        Microsoft: their own sign-in page takes it)."""
        if providers.PROVIDERS[mailbox.provider].oauth:
            return []
        hosts = [(mailbox.imap_host or "").strip(), (mailbox.smtp_host or "").strip()]
        return list(dict.fromkeys(host for host in hosts if host))

    @api.model
    def _check_may_make(self, mailbox):
        """The owner makes a link for a custom mailbox only when its servers belong to the
        address's own domain or to a known provider; otherwise a mailbox administrator
        must (who checks the servers): the password typed on the page goes to them."""
        foreign = [host for host in self._password_hosts(mailbox) if not host_serves_address(host, mailbox.email)]
        if not foreign or self.env.user.has_group(ADMIN_GROUP):
            return
        raise AccessError(
            _(
                "Only a mailbox administrator can make a reconnect link for %(address)s: its server %(host)s is "
                "not part of %(domain)s nor a known provider's server, and the password typed on the link would "
                "go there. Ask a mailbox administrator to check the server and make the link, or set the "
                "servers of %(domain)s on the mailbox.",
                address=mailbox.email,
                host=shown(foreign[0], quoted=True, limit=80),
                domain=(mailbox.email or "").rpartition("@")[2],
            )
        )

    @api.model
    def _end_reconnected(self, mailbox):
        """``mailbox`` was reconnected: every link of it still open dies (but the one
        being used right now, which ends as used)."""
        links = self.sudo().search([("mailbox_id", "in", mailbox.ids), ("ended_at", "=", False)])
        links.filtered(lambda link: link.id != self.env.context.get("mcm_link_id"))._end("reconnected")

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
            # its servers changed since: the password would go elsewhere than the maker chose
            or [clean_host(h) for h in (link.server_hosts or "").splitlines()]
            != [clean_host(h) for h in self._password_hosts(link.mailbox_id)]
        ):
            return self.browse()
        return link

    def _end(self, how):
        self.filtered(lambda link: not link.ended_at).sudo().write(
            {"ended_at": fields.Datetime.now(), "ended_how": how}
        )

    def _used_text(self):
        """Who reconnected the mailbox: its owner (the link acts for them, whoever typed
        the password), through the link of whoever made it."""
        self.ensure_one()
        owner = self.mailbox_id.user_id
        return _(
            "Reconnected by %(owner)s via the link made by %(maker)s.",
            owner=owner.name or _("its owner"),
            maker=self.create_uid.name,
        )

    def _used(self):
        """The mailbox was reconnected through this link: end it, say so in the chatter as
        its owner, and tell whoever made it (and the owner, who did not click)."""
        self.ensure_one()
        self._end("used")
        mailbox = self.mailbox_id.sudo()
        owner = mailbox.user_id.partner_id
        mailbox.message_post(
            body=self._used_text(),
            partner_ids=(self.create_uid.partner_id | owner).ids,
            subtype_xmlid="mail.mt_comment",
            author_id=(owner or self.env.ref("base.partner_root")).id,
            notify_author=True,
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
