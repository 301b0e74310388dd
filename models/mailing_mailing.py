from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import email_normalize

from .mail_mailbox import PARAM

# kept by Odoo, never written by a user (over RPC or otherwise)
MCM_FIELDS = {"mcm_mailbox_id", "mcm_pause_reason", "mcm_state_before_pause", "mcm_edited_by_id"}
GENERATION_CHUNK = 200  # recipients generated between two looks at the mailbox (parameter: campaign_chunk)


class MailingMailing(models.Model):
    """Campaigns that send through a connected mailbox pause when it cannot send
    (access lost, error, disabled): a paused campaign is skipped by the mass mailing
    queue, generates no more recipients, and its queued mail is held. After a
    reconnect it resumes where it stopped (the traces say who was mailed), on a click
    or by itself, as Settings say."""

    _inherit = "mailing.mailing"

    state = fields.Selection(selection_add=[("paused", "Paused")], ondelete={"paused": "set default"})
    mcm_mailbox_id = fields.Many2one("mail.mailbox", string="Paused for mailbox", readonly=True, copy=False)
    mcm_pause_reason = fields.Char("Paused because", readonly=True, copy=False)
    mcm_state_before_pause = fields.Char(readonly=True, copy=False)
    mcm_edited_by_id = fields.Many2one(
        "res.users",
        string="Last edited by",
        readonly=True,
        copy=False,
        help="The user who last changed the campaign: its mail leaves through a connected mailbox only "
        "when this user (or, if only Odoo changed it, its responsible) may send through that mailbox.",
    )

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._mcm_check_kept_fields(vals_list)
            vals_list = [{**vals, "mcm_edited_by_id": self.env.uid} for vals in vals_list]
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._mcm_check_kept_fields([vals])
            vals = {**vals, "mcm_edited_by_id": self.env.uid}
        return super().write(vals)

    @api.model
    def _mcm_check_kept_fields(self, vals_list):
        if any(MCM_FIELDS & vals.keys() for vals in vals_list):
            raise AccessError(
                _("Odoo sets why a campaign is paused, and for which mailbox, itself: use Resume instead.")
            )

    # ------------------------------------------------------------------ which mailbox
    def _mcm_mailbox(self):
        """The connected mailbox this campaign sends through: its server, or Odoo's
        routing by its sender address; an empty recordset if none."""
        self.ensure_one()
        server = self.sudo().mail_server_id
        if not server:
            server = self.env["ir.mail_server"].sudo()._find_mail_server(self.email_from)[0]
        if server and server.smtp_authentication == "mcm_mailbox":
            return server.mcm_mailbox_id
        return self.env["mail.mailbox"]

    def _mcm_recipients_to_go(self):
        """Recipients still to be mailed, as the campaign's own screen counts them: those
        generated and not sent yet (their trace is still outgoing: held, queued or
        scheduled), and those not generated yet."""
        mailings = self.sudo()
        queued = (
            self.env["mailing.trace"]
            .sudo()
            .search_count([("mass_mailing_id", "in", mailings.ids), ("trace_status", "=", "outgoing")])
        )
        return queued + sum(len(mailing._get_remaining_recipients()) for mailing in mailings)

    @api.model
    def _mcm_of_mailbox(self, mailbox, states):
        candidates = self.sudo().search(
            [
                ("state", "in", states),
                "|",
                ("mail_server_id.mcm_mailbox_id", "=", mailbox.id),
                ("email_from", "ilike", mailbox.email_normalized),
            ]
        )
        return candidates.filtered(
            lambda m: (
                m._mcm_mailbox() == mailbox
                or (not m.mail_server_id and email_normalize(m.email_from) == mailbox.email_normalized)
            )
        )

    # ------------------------------------------------------------------ pause and resume
    @api.model
    def _mcm_pause_text(self, mailbox):
        """Why the campaign waits: the mailbox, what it waits for, and the cause found."""
        reason = mailbox._hold_reason()
        cause = (mailbox.last_error_cause or "").strip().rstrip(".")
        if cause and mailbox.active and mailbox.state in ("auth_lost", "error", "throttled"):
            return _("%(reason)s (cause: %(cause)s)", reason=reason, cause=cause)
        return reason

    def _mcm_pause(self, mailbox):
        reason = self._mcm_pause_text(mailbox)
        for mailing in self.sudo():
            mailing.write(
                {
                    "mcm_state_before_pause": mailing.state
                    if mailing.state != "paused"
                    else mailing.mcm_state_before_pause,
                    "state": "paused",
                    "mcm_mailbox_id": mailbox.id,
                    "mcm_pause_reason": reason,
                }
            )
            mailing.message_post(
                body=_("Paused: %(reason)s. Nothing is lost; it resumes where it stopped.", reason=reason)
            )

    def action_mcm_resume(self):
        """Resume where it stopped: nobody already mailed is mailed again."""
        for mailing in self:
            mailing.check_access("write")
            mailbox = mailing.sudo().mcm_mailbox_id
            if mailbox and mailbox.state != "connected":
                reason = self._mcm_pause_text(mailbox)
                mailing.sudo().write({"mcm_pause_reason": reason})
                return mailbox._notify(_("The campaign stays paused"), reason, "warning", reload=True)
            mailing.sudo()._mcm_resume()
        return True

    def _mcm_resume(self):
        for mailing in self:
            # a campaign paused after it finished generating is done again: its held mail
            # is all that was left to send
            state = mailing.mcm_state_before_pause or "in_queue"
            mailing.write(
                {
                    "state": state if state in ("sending", "done") else "in_queue",
                    "mcm_pause_reason": False,
                    "mcm_state_before_pause": False,
                }
            )
            mailing.message_post(body=_("Resumed where it stopped."))
            if mailing.mcm_mailbox_id:
                self.env["mail.mail"]._mcm_release(mailing.mcm_mailbox_id)
        self.env.ref("mass_mailing.ir_cron_mass_mailing_queue")._trigger()

    # ------------------------------------------------------------------ generation
    def _action_send_mail(self, res_ids=None):
        """Generate in chunks and look at the mailbox between two: a campaign whose
        mailbox stops being able to send while it generates stops there, paused."""
        for mailing in self:
            mailbox = mailing._mcm_mailbox()
            if not mailbox:
                super(MailingMailing, mailing)._action_send_mail(res_ids=res_ids)
                continue
            pending = list(res_ids or mailing._get_remaining_recipients())
            size = int(self.env["ir.config_parameter"].sudo().get_param(PARAM + "campaign_chunk") or GENERATION_CHUNK)
            while pending:
                mailbox.invalidate_recordset(["state", "active"])
                mailing.invalidate_recordset(["state"])
                if mailing.state == "paused":
                    break
                if mailbox.state != "connected" or not mailbox.active:
                    mailing._mcm_pause(mailbox)
                    break
                chunk, pending = pending[:size], pending[size:]
                super(MailingMailing, mailing)._action_send_mail(res_ids=chunk)
                if pending:
                    mailing.write({"state": "sending"})  # Odoo wrote "done" after the chunk
            mailbox.invalidate_recordset(["state", "active"])
            mailing.invalidate_recordset(["state"])
            if mailing.state != "paused" and (mailbox.state != "connected" or not mailbox.active):
                mailing._mcm_pause(mailbox)  # lost while sending the last chunk: its mail is held
        return True
