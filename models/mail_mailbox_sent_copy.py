import base64
import logging

from odoo import api, fields, models
from odoo.tools import SQL

from ..mailbox_engine import imap as imap_lib
from .ir_mail_server import SENT_COPIES

_logger = logging.getLogger(__name__)


class MailMailboxSentCopy(models.Model):
    """A message sent through a custom mailbox whose copy is not in its Sent folder yet.

    Written in the transaction that records the mail as sent, filed when the sending
    call ends, removed once filed: a process stopped in between (killed, the server
    unreachable) leaves it here, and the next sending call through the mailbox or its
    next sync files it, once (``append_once`` looks for its Message-ID first).

    No access rights: only the server reads and writes it.
    """

    _name = "mail.mailbox.sent.copy"
    _description = "Sent copy to file"
    _log_access = False

    mailbox_id = fields.Many2one("mail.mailbox", required=True, ondelete="cascade", index=True)
    message_id = fields.Char()
    raw = fields.Binary(attachment=False)

    @api.model
    def _note(self, mailbox_id, raw, message_id):
        """Keep the copy of a message that just left (with the mail's sent state, until
        filed), to file when the sending call ends."""
        self.sudo().create({"mailbox_id": mailbox_id, "raw": base64.b64encode(raw), "message_id": message_id})
        self.env.cr.cache.setdefault(SENT_COPIES, set()).add(mailbox_id)

    @api.model
    def _file(self, mailbox_ids=None):
        """File the waiting copies (of ``mailbox_ids``, else of every connected mailbox)
        in each mailbox's Sent folder, one IMAP session per mailbox; those another
        transaction is filing are left to it. A copy that cannot be filed waits for the
        next call; it never fails what was sent."""
        self.flush_model()
        only = SQL("AND c.mailbox_id IN %s", tuple(mailbox_ids)) if mailbox_ids is not None else SQL("")
        if mailbox_ids is not None and not mailbox_ids:
            return
        self.env.cr.execute(
            SQL(
                "SELECT c.id FROM mail_mailbox_sent_copy c JOIN mail_mailbox m ON m.id = c.mailbox_id "
                "WHERE m.active AND m.state = 'connected' %s ORDER BY c.id FOR UPDATE OF c SKIP LOCKED",
                only,
            )
        )
        copies = self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        for mailbox in copies.mailbox_id:
            mine = copies.filtered(lambda c, mailbox=mailbox: c.mailbox_id == mailbox)
            sent = mailbox.folder_ids.filtered(lambda f: f.use == "\\Sent" and f.present)[:1]
            if not sent:
                _logger.info("Mailbox %s has no Sent folder: %s sent copies not filed", mailbox.id, len(mine))
                mine.unlink()
                continue
            try:
                with imap_lib.session(mailbox._server("imap"), mailbox.email) as client:
                    for copy in mine:
                        imap_lib.append_once(client, sent.path, base64.b64decode(copy.raw), copy.message_id)
            except Exception:  # the mail left; only its copy waits
                _logger.warning("Could not file %s sent copies for mailbox %s", len(mine), mailbox.id, exc_info=True)
                continue
            filed = mine.mapped("message_id")
            self.env["mail.notification"].sudo().search(
                [("mcm_mailbox_id", "=", mailbox.id), ("mail_message_id.message_id", "in", filed)]
            ).write({"mcm_sent_copy": True})
            mine.unlink()


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    @api.model
    def _cron_sync(self):
        """The sync, then the Sent copies a stopped sending call left behind."""
        result = super()._cron_sync()
        self.env["mail.mailbox.sent.copy"]._file()
        return result
