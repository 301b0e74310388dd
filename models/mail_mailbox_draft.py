"""Drafts: a message written in Odoo's composer as a connected mailbox and closed unsent.

A draft is its writer's alone. It is kept in Odoo and, where the mailbox's server has a
``\\Drafts`` folder, as a draft there too (with the Message-ID the mail will have when
sent: a mail client's draft and the sent mail are one message). Sending or discarding it
removes it from both; a server that cannot be reached then keeps it marked, and the
scheduled sync removes it later."""

import base64
import logging
from email.utils import formataddr

from imapclient.exceptions import IMAPClientError

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html2plaintext, is_html_empty
from odoo.tools.mail import email_split_and_format

from ..mailbox_engine import compose
from ..mailbox_engine import diagnosis as diag_lib
from ..mailbox_engine import imap as imap_lib
from ..mailbox_engine.oauth import OAuthError
from ..mailbox_engine.sync.parse import message_digest

_logger = logging.getLogger(__name__)

REMOVALS_PER_RUN = 200


class MailMailboxDraft(models.Model):
    _name = "mail.mailbox.draft"
    _description = "Draft of a connected mailbox"
    _order = "write_date desc, id desc"
    _rec_name = "subject"

    active = fields.Boolean(default=True)
    mailbox_id = fields.Many2one("mail.mailbox", required=True, readonly=True, ondelete="cascade", index=True)
    user_id = fields.Many2one(
        "res.users", "Writer", required=True, readonly=True, default=lambda self: self.env.user, ondelete="cascade"
    )
    email_from = fields.Char("From", readonly=True)
    mode = fields.Selection(compose.MODES, "Writing", required=True, default="new", readonly=True)
    # an id, not a link: a user who may send through a mailbox may not read its messages
    source_id = fields.Integer("Answering", readonly=True)
    res_model = fields.Char("Written from", readonly=True)
    res_id = fields.Integer("Written from record", readonly=True)
    subject = fields.Char()
    body = fields.Html(sanitize="email_outgoing")
    email_to = fields.Char("To")
    email_cc = fields.Char("Cc")
    email_bcc = fields.Char("Bcc")
    attachment_ids = fields.Many2many(
        "ir.attachment", "mail_mailbox_draft_ir_attachment_rel", "draft_id", "attachment_id", "Attachments"
    )
    message_id_header = fields.Char("Message-ID", readonly=True, copy=False)
    message_key = fields.Char(readonly=True, copy=False, index=True)
    on_server = fields.Boolean("In the server's Drafts", readonly=True, copy=False)
    server_state = fields.Char("Not on the server", readonly=True, copy=False)
    to_remove = fields.Boolean(readonly=True, copy=False, help="Sent or discarded; its server copy is still to remove.")

    # ------------------------------------------------------------------ actions
    def action_mcm_continue(self):
        """Open the composer on this draft, as it was left."""
        self.ensure_one()
        self.check_access("read")  # the writer's own only (read as Odoo below)
        mailbox = self.sudo().mailbox_id
        source = self.env["mail.mailbox.message"].sudo().with_context(active_test=False).browse(self.source_id).exists()
        origin = self.res_model in self.env and self.res_id and self.env[self.res_model].browse(self.res_id).exists()
        action = self.env["mail.compose.message"]._mcm_composer_action(
            mailbox,
            self.mode,
            source=source if source.mailbox_id == mailbox else None,
            model=self.res_model if origin else None,
            res_id=self.res_id if origin else None,
        )
        action["context"] = {**action["context"], "mcm_draft_id": self.id}
        return action

    def action_mcm_discard(self):
        """Delete these drafts, in Odoo and in the server's Drafts folder."""
        self.check_access("unlink")
        for draft in self:
            draft.sudo()._mcm_remove()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": _("Draft discarded."),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------ keeping
    def _mcm_keep(self, values, attachments):
        """Write ``values`` and make ``attachments`` this draft's own (others it had go),
        then put it in the server's Drafts folder. Returns the reason it is not there."""
        self.ensure_one()
        draft = self.sudo()
        # only files added in the composer by this user, or already the draft's: never
        # another record's attachment slipped into the composer
        attachments = attachments.sudo().filtered(
            lambda a: (
                (a.res_model == "mail.compose.message" and a.create_uid == self.env.user)
                or (a.res_model == self._name and a.res_id == draft.id)
            )
        )
        gone = draft.attachment_ids - attachments
        draft.write({**values, "attachment_ids": [fields.Command.set(attachments.ids)]})
        attachments.sudo().write({"res_model": self._name, "res_id": draft.id})
        gone.filtered(lambda a: a.res_model == self._name and a.res_id == draft.id).unlink()
        reason = draft._mcm_to_server(draft._mcm_mime())
        draft.write({"on_server": not reason, "server_state": reason or False})
        return reason

    def _mcm_mime(self):
        """The draft as a message (bytes), as it would leave: its Bcc kept, as mail
        clients keep it in theirs."""
        self.ensure_one()
        mailbox = self.mailbox_id
        source = self.env["mail.mailbox.message"].sudo().with_context(active_test=False).browse(self.source_id).exists()
        threaded = source and source.mailbox_id == mailbox and self.mode in ("reply", "reply_all")
        headers = {}
        references = []
        if threaded and compose.in_reply_to(source.message_id_header):
            headers["In-Reply-To"] = compose.in_reply_to(source.message_id_header)
            references = compose.references(source.message_id_header, source.references, source.in_reply_to)
        body = str(self.body or "")
        message = self.env["ir.mail_server"].build_email(
            email_from=self.email_from or mailbox.email,
            email_to=email_split_and_format(self.email_to or ""),
            subject=self.subject or "",
            body=body,
            body_alternative=html2plaintext(body) if not is_html_empty(body) else "",
            email_cc=email_split_and_format(self.email_cc or ""),
            email_bcc=email_split_and_format(self.email_bcc or ""),
            reply_to=self.email_from or mailbox.email,
            attachments=[(a.name, base64.b64decode(a.datas or b""), a.mimetype) for a in self.attachment_ids.sudo()],
            message_id=self.message_id_header,
            references=" ".join(references) or None,
            subtype="html",
            subtype_alternative="plain",
            headers=headers,
        )
        return message.as_bytes()

    # ------------------------------------------------------------------ removing
    def _mcm_remove(self):
        """Remove this draft (sent or discarded): from the server's Drafts folder, then
        from Odoo. A server that cannot be reached keeps it hidden, marked to remove, for
        the scheduled sync to finish."""
        for draft in self.sudo():
            reason = draft._mcm_to_server(None) if draft.on_server and draft._mcm_drafts_folder() else None
            if reason:
                draft.write({"active": False, "to_remove": True, "server_state": reason})
                continue
            draft.env["ir.attachment"].search([("res_model", "=", draft._name), ("res_id", "=", draft.id)]).unlink()
            draft.unlink()

    @api.model
    def _mcm_finish_removals(self):
        """Remove from the servers the drafts sent or discarded while they could not be
        reached (those of connected mailboxes, a bounded batch)."""
        drafts = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [("to_remove", "=", True), ("mailbox_id.state", "=", "connected"), ("mailbox_id.active", "=", True)],
                limit=REMOVALS_PER_RUN,
            )
        )
        drafts._mcm_remove()

    # ------------------------------------------------------------------ the server
    def _mcm_to_server(self, raw):
        """Put ``raw`` in the mailbox's Drafts folder as this draft (None: take it out).
        Returns why that could not be done, in the user's words; None when done."""
        self.ensure_one()
        mailbox = self.mailbox_id.sudo()
        folder = self._mcm_drafts_folder()
        if not folder:
            return _("%(address)s has no Drafts folder: the draft is kept in Odoo only.", address=mailbox.email)
        if not mailbox.active or mailbox.state != "connected":
            return _(
                "%(address)s is not connected: the draft is kept in Odoo, and goes to its Drafts folder once you keep "
                "it again with the mailbox connected.",
                address=mailbox.email,
            )
        server = None
        try:
            mailbox._gate_action(count=False)
            token = mailbox._get_access_token() if mailbox.provider != "imap" else None
            server = mailbox._server("imap", token)
            with imap_lib.session(server, mailbox.email) as client:
                imap_lib.replace_draft(client, folder.path, raw, self.message_id_header)
        except UserError as exc:  # the gate refused the server
            return exc.args[0]
        except (OSError, EOFError) as exc:
            server = server or mailbox._server("imap", "-")  # where it was going (no secret read)
            diagnosis = diag_lib.from_network_error(exc, timeout=server.timeout, host=server.host, port=server.port)
            return _(
                "%(cause)s The draft is kept in Odoo; try again later.", cause=mailbox._render_diagnosis(diagnosis)[0]
            )
        except (IMAPClientError, OAuthError) as exc:
            _logger.info("Mailbox %s: draft not changed on the server (%s)", mailbox.id, type(exc).__name__)
            return _(
                "%(address)s did not take the draft (%(error)s): it is kept in Odoo; try again later.",
                address=mailbox.email,
                error=type(exc).__name__,
            )
        return None

    def _mcm_drafts_folder(self):
        """The mailbox's Drafts folder (the server's ``\\Drafts``), if it has one."""
        return self.mailbox_id.sudo().folder_ids.filtered(lambda f: f.use == "\\Drafts" and f.present)[:1]

    @api.model
    def _mcm_sender(self, mailbox):
        return formataddr((mailbox.user_id.name or "", mailbox.email))

    @api.model
    def _mcm_keys(self, message_id):
        return {"message_id_header": message_id, "message_key": message_digest(message_id)}


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    @api.model
    def _cron_sync(self):
        """The sync, then the drafts sent or discarded while their server was away."""
        result = super()._cron_sync()
        self.env["mail.mailbox.draft"]._mcm_finish_removals()
        return result
