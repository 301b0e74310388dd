"""Replying from *My mail*: the buttons that open the composer as the mailbox, the row
a sent message gets at once (the same record the sync meets later in Sent), its state
while it waits or after it failed, and its copies on the contacts and leads of the
conversation."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize, html2plaintext, is_html_empty

from ..mailbox_engine import compose
from ..mailbox_engine.sync.parse import message_digest


class MailMailbox(models.Model):
    _inherit = "mail.mailbox"

    def _mcm_check_may_write(self, user):
        """Refuse, with who may, unless ``user`` may send through this mailbox."""
        self.ensure_one()
        if not self._mcm_lets_send(user):
            mailbox = self.sudo()
            raise UserError(
                _(
                    "You cannot write as %(address)s: %(address)s is the connected mailbox of %(owner)s, and only "
                    "%(owner)s and the users under “Who else may send through it” on that mailbox (%(allowed)s) may "
                    "send from it. Ask %(owner)s to add you there, or write from your own mailbox.",
                    address=mailbox.email,
                    owner=mailbox.user_id.name,
                    allowed=mailbox._mcm_allowed_names(),
                )
            )


class MailMailboxMessage(models.Model):
    _inherit = "mail.mailbox.message"

    send_state = fields.Char("Sending", compute="_compute_send_state")
    email_bcc = fields.Char("Bcc", readonly=True, help="Written in Odoo: who received it without the others knowing.")

    @api.depends("mcm_mail_id.state", "mcm_mail_id.mcm_hold_reason", "mcm_mail_id.mcm_wait_reason")
    def _compute_send_state(self):
        for message in self:
            mail = message.sudo().mcm_mail_id
            if not mail or mail.state in ("sent", "received"):
                message.send_state = False
            elif mail.state in ("exception", "cancel"):
                message.send_state = _("Not sent: %(reason)s", reason=mail.failure_reason or _("cancelled"))
            elif mail.mcm_hold_reason or mail.mcm_wait_reason:
                message.send_state = _("Waiting: %(reason)s", reason=mail.mcm_hold_reason or mail.mcm_wait_reason)
            else:
                message.send_state = _("Sending")

    @api.depends("awaiting_place")
    def _compute_folder_names(self):
        result = super()._compute_folder_names()
        for message in self:  # written in Odoo, not in a folder of the server yet: never blank
            if not message.folder_names and message.awaiting_place:
                message.folder_names = _("Sent from Odoo")
        return result

    # ------------------------------------------------------------------ the buttons
    def _mcm_open_composer(self, mode):
        self.ensure_one()
        self.check_access("read")
        return self.env["mail.compose.message"]._mcm_composer_action(self.mailbox_id.sudo(), mode, source=self)

    def action_mcm_reply(self):
        return self._mcm_open_composer("reply")

    def action_mcm_reply_all(self):
        return self._mcm_open_composer("reply_all")

    def action_mcm_forward(self):
        return self._mcm_open_composer("forward")

    def action_mcm_new_message(self):
        """New message, from the mailbox the user's Odoo mail leaves from, else the first
        connected one the user owns or may send through."""
        Mailboxes = self.env["mail.mailbox"].sudo()
        user = self.env.user
        candidates = Mailboxes.search(
            ["|", ("user_id", "=", user.id), ("sender_user_ids", "in", user.ids)], order="id"
        ).filtered(lambda mailbox: mailbox._mcm_lets_send(user))
        if not candidates:
            raise UserError(
                _("You have no connected mailbox to write from: connect yours under Connected Mailboxes first.")
            )
        own = candidates.filtered(lambda m: m.user_id == user)
        mailbox = (
            own.filtered(lambda m: m.email_normalized == email_normalize(user.email or ""))[:1]
            or own.filtered(lambda m: m.state == "connected")[:1]
            or candidates.filtered(lambda m: m.state == "connected")[:1]
            or candidates[:1]
        )
        return self.env["mail.compose.message"]._mcm_composer_action(mailbox, "new")

    def _mcm_fetch_for_forward(self):
        """A message left on the server, fetched now that it is forwarded (with its
        attachments); a refusal stops the forward with the mailbox's reason."""
        refused = self.action_fetch_body()
        if refused is not True:
            raise UserError(
                _(
                    "The message was left on the server and could not be fetched to forward it: %(reason)s",
                    reason=self.mailbox_id.sudo().last_error_cause or _("see the mailbox's status."),
                )
            )

    # ------------------------------------------------------------------ the sent message's row
    @api.model
    def _mcm_record_sent(self, mail, mailbox, source, mode):
        """The mailbox's row of ``mail``, made as it is sent: shown at once in My mail
        and in the conversation, and the record the sync finds in Sent (same key)."""
        threaded = bool(source) and mode in ("reply", "reply_all")
        key = message_digest(mail.message_id)
        values = {
            "mailbox_id": mailbox.id,
            "message_key": key,
            "message_id_header": mail.message_id,
            "kind": "odoo",
            "mail_message_id": mail.mail_message_id.id,
            "mcm_mail_id": mail.id,
            "subject": mail.subject,
            "email_from": mail.email_from,
            "email_to": mail.email_to,
            "email_cc": mail.email_cc or False,
            "email_bcc": mail.mcm_email_bcc or False,
            "reply_to": mail.reply_to or False,
            "date": fields.Datetime.now(),
            "html_source": str(mail.body_html or "") or False,
            "body_text": html2plaintext(mail.body_html) if not is_html_empty(mail.body_html) else False,
            "in_reply_to": (compose.in_reply_to(source.message_id_header) or False) if threaded else False,
            "references": mail.references or False,
            "thread_key": (source.thread_key or source.message_key) if threaded else key,
            "seen": True,
            "has_attachments": bool(mail.attachment_ids),
            "awaiting_place": True,
        }
        sent = self.sudo().create(values)
        for attachment in mail.attachment_ids.sudo():
            attachment.copy({"res_model": self._name, "res_id": sent.id})
        mailbox._send_live_changed()
        return sent

    def _mcm_log_sent(self, source, origin):
        """Log this sent message on the records of its conversation, once each: those the
        answered message is logged on (under its copy there), the record it was written
        from, and, where the mailbox logs known contacts, the contacts and open leads it
        is addressed to."""
        self.ensure_one()
        mailbox = self.mailbox_id
        records, parents = [], self.env["mail.message"].sudo()
        for copy in source.sudo().logged_message_ids | source.sudo().mail_message_id if source else ():
            if copy.model in self.env and copy.res_id and copy.model != self._name:
                parents |= copy  # a reply goes under the copy answered, on each record that has one
                if mailbox.log_mode != "none":
                    records.append(self.env[copy.model].browse(copy.res_id))
        if origin:
            records.append(origin)
        if mailbox.log_mode == "known":
            addresses = mailbox._loggable_addresses([self.email_to, self.email_cc])
            if addresses:
                records += list(self.env["res.partner"].sudo().search([("email_normalized", "in", addresses)]))
                records += list(
                    self.env["crm.lead"]
                    .sudo()
                    .search(
                        [("email_normalized", "in", addresses), ("active", "=", True), ("stage_id.is_won", "=", False)]
                    )
                )
        if records:
            self._log_copies(records, parents, self.env.user.partner_id, trusted_author=True)
