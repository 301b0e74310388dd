"""Odoo's own composer (templates, attachments, the HTML editor) writing as a connected
mailbox: Reply, Reply all, Forward and New message in *My mail*, and Reply on a copy
logged in a chatter. The mail leaves as one message to its To, Cc and Bcc through the
mailbox's server, threaded under the original (In-Reply-To, References), and is a
message of the mailbox at once: the sync later finds it in Sent as the same record.

Only the single-record *comment* mode is used: its body is sent as typed. The
mass-mailing mode would render the quoted customer's HTML as a template."""

from email.utils import formataddr, make_msgid

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize, format_datetime, is_html_empty
from odoo.tools.mail import email_split_and_format

from ..mailbox_engine import compose
from ..mailbox_engine.diagnosis import shown
from ..mailbox_engine.sync.parse import MESSAGE_ID_MAX

QUOTE_STYLE = "margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex"


class MailComposeMessage(models.TransientModel):
    _inherit = "mail.compose.message"

    mcm_mailbox_id = fields.Many2one("mail.mailbox", "Send through", readonly=True, ondelete="cascade")
    mcm_from = fields.Char("Writing as", readonly=True)
    mcm_mode = fields.Selection(compose.MODES, "Writing", readonly=True)
    # an id, not a link: a user who may send through a mailbox may not read its messages
    mcm_source_id = fields.Integer("Answering", readonly=True)
    mcm_email_to = fields.Char("To")
    mcm_email_cc = fields.Char("Cc")
    mcm_email_bcc = fields.Char("Bcc", help="Receives the message without the others seeing it.")
    mcm_quote = fields.Html("Quoted message", readonly=True, sanitize=False)
    mcm_warning = fields.Char("Before you send", readonly=True)

    # ------------------------------------------------------------------ opening
    @api.model
    def _mcm_composer_action(self, mailbox, mode, source=None, *, model=None, res_id=None, title=None):
        """The window of the composer writing as ``mailbox`` (``source``: the synced
        message answered or forwarded; ``model``/``res_id``: the record the composer
        is on, by default the synced message itself)."""
        mailbox._mcm_check_may_write(self.env.user)
        if source and source.kind == "placeholder" and mode != "forward" and not source.message_id_header:
            raise UserError(_("Odoo could not store this message: answer it from your mail client."))
        source_id = source.id if source else 0
        context = {
            "mcm_mode": mode,
            "mcm_mailbox_id": mailbox.id,
            "mcm_source_id": source_id,
            "default_composition_mode": "comment",
            "default_model": model or "mail.mailbox.message",
            "default_res_ids": [res_id or source_id] if (res_id or source_id) else [],
        }
        return {
            "type": "ir.actions.act_window",
            "name": title or dict(self._fields["mcm_mode"]._description_selection(self.env)).get(mode),
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "views": [(self.env.ref("mail_connected_mailbox.mcm_compose_form").id, "form")],
            "target": "new",
            "context": context,
        }

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        mode = self.env.context.get("mcm_mode")
        if not mode:
            return values
        mailbox = self.env["mail.mailbox"].sudo().browse(self.env.context.get("mcm_mailbox_id")).exists()
        if not mailbox:
            raise UserError(_("This mailbox no longer exists."))
        mailbox._mcm_check_may_write(self.env.user)
        source = self._mcm_source(mailbox, self.env.context.get("mcm_source_id"))
        values.update(self._mcm_defaults(mailbox, mode, source, copy_files="attachment_ids" in fields_list))
        return {name: value for name, value in values.items() if name in fields_list}

    def _mcm_source(self, mailbox, source_id):
        """The synced message answered, read as Odoo after a check of the right to: its
        owner reads it in My mail; from a chatter, whoever reads the copy there."""
        if not source_id:
            return self.env["mail.mailbox.message"].sudo()
        source = self.env["mail.mailbox.message"].sudo().with_context(active_test=False).browse(source_id).exists()
        if not source or source.mailbox_id != mailbox:
            raise UserError(_("The message you answer is no longer in this mailbox."))
        readable = source.with_user(self.env.user)._filtered_access("read") or any(
            copy.model in self.env and copy.res_id and self.env[copy.model].browse(copy.res_id).has_access("read")
            for copy in source.logged_message_ids
        )
        if not readable:
            raise UserError(_("You cannot read the message you answer."))
        return source

    def _mcm_defaults(self, mailbox, mode, source, copy_files=True):
        user = self.env.user
        own = [mailbox.email_normalized, email_normalize(user.email or "")]
        values = {
            "mcm_mailbox_id": mailbox.id,
            "mcm_mode": mode,
            "mcm_source_id": source.id,
            "mcm_from": formataddr((mailbox.user_id.name or "", mailbox.email)),
            "mcm_warning": False if mailbox.state == "connected" and mailbox.active else mailbox._hold_reason(),
            "composition_mode": "comment",
            "subject": False,
        }
        if mode in ("reply", "reply_all") and source:
            to, cc = compose.reply_recipients(
                mode,
                source.email_from,
                source.reply_to,
                source.email_to,
                source.email_cc,
                own=own,
                sent_by_us=email_normalize(source.email_from or "") == mailbox.email_normalized,
            )
            values.update(
                mcm_email_to=", ".join(to),
                mcm_email_cc=", ".join(cc),
                subject=compose.reply_subject(source.subject),
                mcm_quote=self._mcm_quote(source),
            )
        elif mode == "forward" and source:
            values.update(subject=compose.forward_subject(source.subject), mcm_quote=self._mcm_forwarded(source))
            if copy_files:  # once, when the composer opens (not again when it is saved)
                values["attachment_ids"] = [(6, 0, self._mcm_forward_attachments(source).ids)]
        values["body"] = self._mcm_opening_body()
        if values.get("mcm_quote"):
            values["body"] += values["mcm_quote"]
        return values

    def _mcm_opening_body(self):
        """An empty line to write on, and the user's signature."""
        signature = self.env.user.signature
        return Markup("<p><br></p>") + (Markup("<div>%s</div>") % signature if not is_html_empty(signature) else "")

    def _mcm_quoted_body(self, source):
        if source.html_source:
            return source._copy_body() if source.blocked_images else source.body
        return Markup("<p>%s</p>") % Markup("<br>").join((source.body_text or "").splitlines())

    def _mcm_quote(self, source):
        when = format_datetime(self.env, source.date, dt_format="medium") if source.date else ""
        header = _("On %(date)s, %(sender)s wrote:", date=when, sender=source.email_from or _("an unknown sender"))
        return Markup('<div class="mcm_quote"><p>%s</p><blockquote style="%s">%s</blockquote></div>') % (
            header,
            QUOTE_STYLE,
            self._mcm_quoted_body(source),
        )

    def _mcm_forwarded(self, source):
        rows = [
            (_("From"), source.email_from),
            (_("Date"), format_datetime(self.env, source.date, dt_format="medium") if source.date else ""),
            (_("Subject"), source.subject),
            (_("To"), source.email_to),
            (_("Cc"), source.email_cc),
        ]
        lines = Markup("<br>").join(Markup("%s: %s") % (name, value) for name, value in rows if value)
        return Markup('<div class="mcm_quote"><p>%s<br>%s</p>%s</div>') % (
            _("---------- Forwarded message ----------"),
            lines,
            self._mcm_quoted_body(source),
        )

    def _mcm_forward_attachments(self, source):
        """Copies of the forwarded message's attachments for this mail (fetched first
        when the message was left on the server)."""
        if source.kind == "placeholder":
            source.with_user(source.mailbox_id.user_id).sudo()._mcm_fetch_for_forward()
        originals = (
            self.env["ir.attachment"]
            .sudo()
            .search([("res_model", "=", "mail.mailbox.message"), ("res_id", "=", source.id)], order="id")
        )
        return self.env["ir.attachment"].browse(
            [attachment.copy({"res_model": "mail.compose.message", "res_id": 0}).id for attachment in originals]
        )

    # ------------------------------------------------------------------ the composer's own fields
    @api.depends("composition_mode", "model", "res_domain", "res_ids", "template_id")
    def _compute_body(self):
        result = super()._compute_body()
        for composer in self.filtered("mcm_mode"):  # a template picked keeps the quote
            body = composer.body if not is_html_empty(composer.body) else Markup("<p><br></p>")
            composer.body = body + (composer.mcm_quote or "")
        return result

    @api.depends("composition_mode", "email_from", "model", "res_domain", "res_ids", "template_id")
    def _compute_authorship(self):
        result = super()._compute_authorship()
        for composer in self.filtered("mcm_mailbox_id"):  # always the mailbox, whatever the template says
            composer.email_from = composer.mcm_from
            composer.author_id = self.env.user.partner_id
        return result

    # ------------------------------------------------------------------ sending
    def action_send_mail(self):
        if not self.mcm_mode:
            return super().action_send_mail()
        self.ensure_one()
        mail = self._mcm_send()
        return self._mcm_sent_action(mail)

    def _action_send_mail(self, auto_commit=False):
        mine = self.filtered("mcm_mode")
        for composer in mine:
            composer._mcm_send()
        if mine == self:
            return self.env["mail.mail"].sudo(), self.env["mail.message"]
        return super(MailComposeMessage, self - mine)._action_send_mail(auto_commit=auto_commit)

    def _mcm_addresses(self, text, label):
        """The formatted addresses of a To, Cc or Bcc field; one that is not an address
        stops the sending with its name."""
        found = email_split_and_format(text or "")
        wrong = [address for address in found if not email_normalize(address)]
        if wrong or (text and text.strip() and not found):
            raise UserError(
                _(
                    "%(field)s has something that is not an email address (%(value)s): correct it, then send again.",
                    field=label,
                    value=shown(", ".join(wrong) or text, limit=120),
                )
            )
        return found

    def _mcm_send(self):
        """One mail to To, Cc and Bcc through the mailbox (held when it cannot send, as
        any mail of it), recorded in the mailbox and logged; returns the mail."""
        self.ensure_one()
        mailbox = self.mcm_mailbox_id.sudo()
        mailbox._mcm_check_may_write(self.env.user)
        to = self._mcm_addresses(self.mcm_email_to, _("To"))
        cc = self._mcm_addresses(self.mcm_email_cc, _("Cc"))
        bcc = self._mcm_addresses(self.mcm_email_bcc, _("Bcc"))
        if not to:
            raise UserError(_("Add at least one address under To, then send again."))
        source = self._mcm_source(mailbox, self.mcm_source_id)
        threaded = source and self.mcm_mode in ("reply", "reply_all")
        parent_id = compose.in_reply_to(source.message_id_header) if threaded else ""
        references = (
            compose.references(source.message_id_header, source.references, source.in_reply_to) if threaded else []
        )
        message_id = self._mcm_message_id(mailbox)
        headers = {"In-Reply-To": parent_id} if parent_id else {}
        # only files the writer may read leave with the mail (ids sent over RPC prove nothing)
        self.attachment_ids.check("read")
        attachments = self.attachment_ids.sudo()
        mail = (
            self.env["mail.mail"]
            .sudo()
            .create(
                {
                    "email_from": formataddr((mailbox.user_id.name or "", mailbox.email)),
                    "reply_to": formataddr((mailbox.user_id.name or "", mailbox.email)),
                    "author_id": self.env.user.partner_id.id,
                    "email_to": ", ".join(to),
                    "email_cc": ", ".join(cc),
                    "mcm_email_bcc": ", ".join(bcc),
                    "subject": self.subject or "",
                    "body_html": self.body or "",
                    "body": self.body or "",
                    "attachment_ids": [(6, 0, attachments.ids)],
                    "mail_server_id": mailbox._get_mail_server().id,
                    "message_id": message_id,
                    "references": " ".join(references) or False,
                    "headers": repr(headers) if headers else False,
                    "message_type": "email_outgoing",
                    "model": False,
                    "res_id": False,
                    "auto_delete": False,
                    "is_notification": False,
                }
            )
        )
        attachments.write({"res_model": "mail.message", "res_id": mail.mail_message_id.id})
        sent = self.env["mail.mailbox.message"].sudo()._mcm_record_sent(mail, mailbox, source, self.mcm_mode)
        sent._mcm_log_sent(source, self._mcm_origin())
        self._mcm_before_send(sent)
        mail.send(raise_exception=False)
        return mail

    def _mcm_before_send(self, sent):
        """What else happens once the mail is recorded, before it leaves (drafts)."""

    def _mcm_origin(self):
        """The record the composer was opened on (a contact or lead's chatter), if not the
        synced message itself."""
        if not self.model or self.model in ("mail.mailbox.message", "mail.mailbox") or self.model not in self.env:
            return None
        res_ids = self._evaluate_res_ids()
        record = self.env[self.model].browse(res_ids[:1]).exists()
        return record if record and record.has_access("read") else None

    @api.model
    def _mcm_message_id(self, mailbox):
        domain = (mailbox.email_normalized or "").rpartition("@")[2] or "localhost"
        return make_msgid(domain=domain)[:MESSAGE_ID_MAX]

    def _mcm_sent_action(self, mail):
        """Close the composer; a mail that waits says why, in a toast, and on its row."""
        if mail.mcm_hold_reason or mail.mcm_wait_reason or mail.state == "exception":
            reason = mail.mcm_hold_reason or mail.mcm_wait_reason or mail.failure_reason
            kind, title = (
                ("danger", _("Not sent")) if mail.state == "exception" else ("warning", _("Your message waits"))
            )
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "type": kind,
                    "sticky": True,
                    "title": title,
                    "message": _("%(reason)s My mail shows it with its state.", reason=reason or ""),
                    "next": {"type": "ir.actions.act_window_close"},
                },
            }
        return {"type": "ir.actions.act_window_close"}
