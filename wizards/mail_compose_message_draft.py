"""The composer's drafts: what is written and closed unsent is kept (in Odoo, and in the
mailbox's Drafts folder where the server has one), reopens as it was left, and leaves
with the Message-ID it was kept under; sent, it is removed from both."""

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html2plaintext


def _words(html):
    return " ".join(html2plaintext(str(html or "")).split())


class MailComposeMessage(models.TransientModel):
    _inherit = "mail.compose.message"

    mcm_draft_id = fields.Many2one("mail.mailbox.draft", "Draft", readonly=True, ondelete="set null")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if not self.env.context.get("mcm_mode"):
            return values
        draft_id = self.env.context.get("mcm_draft_id") or self._mcm_waiting_draft().id
        if not draft_id:
            return values
        draft = self.env["mail.mailbox.draft"].browse(draft_id).exists()
        if not draft:
            raise UserError(_("This draft is no longer there: it was sent or discarded."))
        draft.check_access("read")  # the writer's own only
        if draft.sudo().mailbox_id.id != self.env.context.get("mcm_mailbox_id"):
            raise UserError(_("This draft was written in another mailbox: open it from My mail, under Drafts."))
        kept = {
            "mcm_draft_id": draft.id,
            "subject": draft.subject,
            "body": draft.body or Markup("<p><br></p>"),
            "mcm_email_to": draft.email_to,
            "mcm_email_cc": draft.email_cc,
            "mcm_email_bcc": draft.email_bcc,
            "attachment_ids": [fields.Command.set(draft.attachment_ids.ids)],
        }
        values.update({name: value for name, value in kept.items() if name in fields_list})
        return values

    @api.model
    def _mcm_waiting_draft(self):
        """The user's draft answering the same message the same way (Reply on a message
        with a reply kept continues it, as mail clients do)."""
        context = self.env.context
        if not context.get("mcm_source_id") or context.get("mcm_mode") == "new":
            return self.env["mail.mailbox.draft"]
        return self.env["mail.mailbox.draft"].search(
            [
                ("user_id", "=", self.env.uid),
                ("mailbox_id", "=", context.get("mcm_mailbox_id")),
                ("source_id", "=", context["mcm_source_id"]),
                ("mode", "=", context["mcm_mode"]),
            ],
            limit=1,
        )

    def action_mcm_keep_draft(self):
        """Keep what is written as a draft and close the composer (context
        ``mcm_dismissing``: the composer is closing anyway, and a composer with nothing
        written keeps nothing)."""
        self.ensure_one()
        if not self.mcm_mode:
            raise UserError(_("Only a message written as a connected mailbox is kept as a draft."))
        mailbox = self.mcm_mailbox_id.sudo()
        mailbox._mcm_check_may_write(self.env.user)
        dismissing = self.env.context.get("mcm_dismissing")
        if dismissing and not self.mcm_draft_id and not self._mcm_written():
            return False
        Drafts = self.env["mail.mailbox.draft"]
        draft = self._mcm_own_draft()
        if not draft:
            origin = self._mcm_origin()
            draft = Drafts.sudo().create(
                {
                    "mailbox_id": mailbox.id,
                    "user_id": self.env.uid,
                    "mode": self.mcm_mode,
                    "source_id": self.mcm_source_id,
                    "res_model": origin._name if origin else False,
                    "res_id": origin.id if origin else False,
                    **Drafts._mcm_keys(self._mcm_message_id(mailbox)),
                }
            )
            self.mcm_draft_id = draft
        reason = draft._mcm_keep(
            {
                "email_from": Drafts._mcm_sender(mailbox),
                "subject": self.subject or False,
                "body": self.body or False,
                "email_to": self.mcm_email_to or False,
                "email_cc": self.mcm_email_cc or False,
                "email_bcc": self.mcm_email_bcc or False,
            },
            self.attachment_ids,
        )
        if reason:
            message = _("It is in My mail, under Drafts; not in the server's Drafts folder: %(reason)s", reason=reason)
        else:
            message = _(
                "It is in My mail, under Drafts, and in the Drafts folder of %(address)s.", address=mailbox.email
            )
        params = {"type": "warning" if reason else "success", "title": _("Draft kept"), "message": message}
        if reason:
            params["sticky"] = True
        if not dismissing:
            params["next"] = {"type": "ir.actions.act_window_close"}
        return {"type": "ir.actions.client", "tag": "display_notification", "params": params}

    def _mcm_written(self):
        """Whether something was written: text besides the signature and the quote the
        composer opened with, or a subject or an address of a new message."""
        if self.mcm_mode == "new" and (self.subject or self.mcm_email_to or self.mcm_email_cc or self.mcm_email_bcc):
            return True
        opened = self._mcm_opening_body()
        return _words(self.body) not in (_words(opened), _words(opened + (self.mcm_quote or "")))

    # ------------------------------------------------------------------ sending a draft
    @api.model
    def _mcm_message_id(self, mailbox):
        """A draft's mail leaves with the Message-ID it was kept under (the server's
        draft and the sent mail are one message)."""
        draft = self._mcm_own_draft() if len(self) == 1 else None
        if draft and draft.sudo().message_id_header:
            return draft.sudo().message_id_header
        return super()._mcm_message_id(mailbox)

    def _mcm_before_send(self, sent):
        result = super()._mcm_before_send(sent)
        draft = self._mcm_own_draft()
        if draft:
            draft.sudo()._mcm_remove()
        return result

    def _mcm_own_draft(self):
        """The composer's draft, refused unless it is the user's own, of this mailbox."""
        draft = self.mcm_draft_id
        if draft:
            draft.check_access("write")
            if draft.sudo().mailbox_id != self.mcm_mailbox_id:
                raise UserError(_("This draft was written in another mailbox: open it from My mail, under Drafts."))
        return draft
