from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize

from odoo.addons.base.models.ir_mail_server import MailDeliveryException

from ..mailbox_engine import smtp as smtp_lib

SENT_COPIES = "mail_connected_mailbox.sent_copies"  # cursor cache: copies to file in Sent folders


class IrMailServer(models.Model):
    """One outgoing server per connected mailbox, kept in step with it: its
    ``from_filter`` is the mailbox's address, so Odoo's own routing
    (``_find_mail_server``) sends what the user sends through their mailbox."""

    _inherit = "ir.mail_server"

    smtp_authentication = fields.Selection(
        selection_add=[("mcm_mailbox", "Connected mailbox")], ondelete={"mcm_mailbox": "set default"}
    )
    mcm_mailbox_id = fields.Many2one(
        "mail.mailbox", string="Connected mailbox", index="btree_not_null", ondelete="cascade", readonly=True
    )

    _sql_constraints = [
        ("mcm_mailbox_uniq", "unique(mcm_mailbox_id)", "A connected mailbox has one outgoing server."),
    ]

    @api.constrains("smtp_authentication", "mcm_mailbox_id", "smtp_pass")
    def _check_mcm_mailbox(self):
        for server in self.filtered(lambda s: s.smtp_authentication == "mcm_mailbox"):
            if not server.mcm_mailbox_id:
                raise UserError(_("A “Connected mailbox” server is made by a connected mailbox, not by hand."))
            if server.smtp_pass:
                raise UserError(_("A connected mailbox's server keeps no password: the mailbox holds it, encrypted."))

    def _smtp_login(self, connection, smtp_user, smtp_password):
        if len(self) != 1 or self.smtp_authentication != "mcm_mailbox":
            return super()._smtp_login(connection, smtp_user, smtp_password)
        self.mcm_mailbox_id.sudo()._smtp_login(connection)
        return None

    def _find_mail_server(self, email_from, mail_servers=None):
        """A mailbox's server sends only its own address's mail. Odoo's fallbacks (the
        first server without a filter, then any server) never pick a user's mailbox:
        a mail from another address goes through Odoo's usual servers, as it would
        without this addon."""
        if mail_servers is None:
            mail_servers = self.sudo().search([], order="sequence")
        mailboxes = mail_servers.filtered(lambda server: server.smtp_authentication == "mcm_mailbox")
        address = email_normalize(email_from)
        own = mailboxes.filtered(lambda server: server.active and address and server.from_filter == address)
        if own:
            return own[0], email_from
        return super()._find_mail_server(email_from, mail_servers=mail_servers - mailboxes)

    def send_email(self, message, *args, **kwargs):
        """Through a connected mailbox: a message the server refuses gets a sentence that
        names what was refused and what to do (that message only; Odoo goes on with the
        next); a message sent through a custom IMAP mailbox is noted for a copy in its
        Sent folder (Google and Microsoft file it themselves), filed when the sending
        call ends (``mail.mail.send``), in one IMAP session per mailbox."""
        session = kwargs.get("smtp_session")
        mailbox_id, copy = self._mcm_sending_mailbox(message, session, *args, **kwargs)
        try:
            message_id = super().send_email(message, *args, **kwargs)
        except MailDeliveryException as exc:
            size_limit = getattr(session, "esmtp_features", {}).get("size") if session else None
            text = mailbox_id and smtp_lib.explain_send_error(exc.__context__, size_limit)
            if text:
                raise MailDeliveryException(_("Mail Delivery Failed"), text) from exc.__context__
            raise
        if copy:
            self.env.cr.cache.setdefault(SENT_COPIES, []).append((mailbox_id, message.as_bytes(), message_id))
        return message_id

    def _mcm_sending_mailbox(self, message, session, *args, **kwargs):
        """``(mailbox id or False, whether to file a Sent copy)`` for this message; worked
        out once per SMTP session (a batch), not once per message."""
        found = getattr(session, "mcm_sending_mailbox", None)
        if found is None:
            mail_server_id = kwargs.get("mail_server_id") or (args[0] if args else None)
            if mail_server_id:
                server = self.sudo().browse(mail_server_id)
            else:
                server = self._find_mail_server(message["From"])[0]
            mailbox = server.mcm_mailbox_id if server and server.smtp_authentication == "mcm_mailbox" else None
            found = (mailbox.id, mailbox.provider == "imap") if mailbox else (False, False)
            if session is not None:
                session.mcm_sending_mailbox = found
        return found
