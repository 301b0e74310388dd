"""Reply, Reply all and Forward on a synced message's copy in a chatter (a contact's or a
lead's): the web client learns which copies the reader may answer through the mailbox,
and the action opens the same composer as in *My mail*, on the record of the chatter."""

from odoo import _, models
from odoo.exceptions import UserError

CHATTER_MODES = ("reply", "reply_all", "forward")


class MailMessage(models.Model):
    _inherit = "mail.message"

    def _to_store(self, store, /, *, for_current_user=False, **kwargs):
        result = super()._to_store(store, for_current_user=for_current_user, **kwargs)
        # whether the reader may answer depends on the reader: never in what is
        # broadcast to others, only in what the reader fetches
        if for_current_user:
            replyable = self._mcm_replyable()
            for message in self.filtered("mcm_message_id"):
                store.add(message, {"mcm_can_reply": message in replyable})
        return result

    def _mcm_replyable(self):
        """The copies of synced messages among these that the current user may answer
        through the mailbox: it is active and lets the user send through it. Read as
        Odoo, in a few queries whatever the number of messages."""
        copies = self.sudo().filtered("mcm_message_id")
        if not copies:
            return self.browse()
        user = self.env.user
        mailboxes = copies.mcm_message_id.with_context(active_test=False).mailbox_id
        allowed = mailboxes.filtered(lambda mailbox: mailbox.active and mailbox._mcm_lets_send(user))
        return self.browse(copies.filtered(lambda copy: copy.mcm_message_id.mailbox_id in allowed).ids)

    def action_mcm_reply(self, mode):
        """The composer answering (or forwarding) the synced message of this chatter copy,
        through its mailbox, on the record the copy is logged on: the reply is threaded
        under the original and logged on that record under this copy."""
        self.ensure_one()
        if mode not in CHATTER_MODES:
            raise UserError(_("Choose Reply, Reply all or Forward."))
        self.check_access("read")
        copy = self.sudo()
        if not copy.model or not copy.res_id or copy.model not in self.env:
            raise UserError(_("This message is not on a record: answer it from My mail."))
        record = self.env[copy.model].browse(copy.res_id).exists()
        if not record:
            raise UserError(_("The record this message is logged on no longer exists."))
        record.check_access("read")
        synced = copy.mcm_message_id.with_context(active_test=False).exists()
        if not synced:
            raise UserError(_("This message is no longer in a connected mailbox: answer it from your mail client."))
        mailbox = synced.mailbox_id
        if not mailbox.active:
            raise UserError(
                _(
                    "The mailbox %(address)s is archived: its owner restores it under Connected Mailboxes, "
                    "then you can answer from here.",
                    address=mailbox.email,
                )
            )
        return self.env["mail.compose.message"]._mcm_composer_action(
            mailbox, mode, source=synced, model=record._name, res_id=record.id
        )
