from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import email_normalize, formataddr

from .mail_mailbox import PARAM

# kept by Odoo, never written by a user (over RPC or otherwise)
MCM_FIELDS = {
    "mcm_mailbox_id",
    "mcm_pause_reason",
    "mcm_pause_cause",
    "mcm_state_before_pause",
    "mcm_edited_by_id",
    "mcm_bounce_resumed_at",
    "mcm_bounce_rate_at_resume",
}
GENERATION_CHUNK = 200  # recipients generated between two looks at the mailbox (parameter: campaign_chunk)
BOUNCE_REARM_DAYS = 7  # after Resume, the bounce guard leaves the campaign alone this long (unless the rate doubles)


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
    mcm_pause_cause = fields.Selection(
        [("mailbox", "The mailbox cannot send"), ("bounces", "The mailbox bounces too much")],
        string="Paused for",
        readonly=True,
        copy=False,
    )
    mcm_bounce_resumed_at = fields.Datetime(
        "Resumed after bounces on",
        readonly=True,
        copy=False,
        help="When the campaign was last resumed after its mailbox bounced too much: for 7 days, "
        "it is not paused again unless the mailbox's bounce rate doubles.",
    )
    mcm_bounce_rate_at_resume = fields.Float("Bounce rate at resume (%)", readonly=True, copy=False)
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

    # ------------------------------------------------------------------ compute
    @api.depends("reply_to_mode", "email_from", "mail_server_id")
    def _compute_reply_to(self):
        """A campaign whose replies come back by email ("new" mode) and that sends through
        a connected mailbox gets that mailbox as its Reply-To, in its owner's name, while
        it still has the default one: replies land in the mailbox, where the sync finds
        them. A Reply-To typed by the user stays."""
        previous = {mailing: mailing.reply_to for mailing in self}
        result = super()._compute_reply_to()
        for mailing in self:
            if mailing.reply_to_mode != "new" or not mailing._mcm_default_reply_to(previous[mailing]):
                continue
            mailbox = mailing._mcm_mailbox().sudo()
            if mailbox:
                mailing.reply_to = formataddr((mailbox.user_id.name or "", mailbox.email))
        return result

    def _mcm_default_reply_to(self, reply_to):
        """Whether ``reply_to`` is a default (none, the user's own address, or a
        connected mailbox's address set here before), not one the user typed."""
        if not reply_to or reply_to == self.env.user.email_formatted:
            return True
        address = email_normalize(reply_to)
        return bool(address) and bool(
            self.env["mail.mailbox"].sudo().search_count([("email_normalized", "=", address)], limit=1)
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

    def _mcm_pause(self, mailbox, reason=None, cause="mailbox"):
        """Pause these campaigns for ``mailbox``: it cannot send (``cause`` "mailbox", the
        reason derived from its status), or it bounces too much ("bounces", with the
        ``reason`` given)."""
        reason = reason or self._mcm_pause_text(mailbox)
        for mailing in self.sudo():
            mailing.write(
                {
                    "mcm_state_before_pause": mailing.state
                    if mailing.state != "paused"
                    else mailing.mcm_state_before_pause,
                    "state": "paused",
                    "mcm_mailbox_id": mailbox.id,
                    "mcm_pause_reason": reason,
                    "mcm_pause_cause": cause,
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
            values = {
                "state": state if state in ("sending", "done") else "in_queue",
                "mcm_pause_reason": False,
                "mcm_pause_cause": False,
                "mcm_state_before_pause": False,
            }
            if mailing.mcm_pause_cause == "bounces" and mailing.mcm_mailbox_id:
                # re-armed: the guard leaves it alone for a while, unless the rate doubles
                values["mcm_bounce_resumed_at"] = fields.Datetime.now()
                values["mcm_bounce_rate_at_resume"] = mailing.mcm_mailbox_id._mcm_bounce_figures()["rate"]
            mailing.write(values)
            mailing.message_post(body=_("Resumed where it stopped."))
            if mailing.mcm_mailbox_id:
                self.env["mail.mail"]._mcm_release(mailing.mcm_mailbox_id)
        self.env.ref("mass_mailing.ir_cron_mass_mailing_queue")._trigger()

    def _mcm_bounce_pause_waived(self, rate, max_rate, now):
        """Resumed after a bounce pause less than 7 days ago, and the mailbox's rate
        (``rate``, in %) has not doubled since: the bounce guard leaves it alone. A
        rate of 0 at resume counts as the limit (``max_rate``)."""
        self.ensure_one()
        resumed_at = self.mcm_bounce_resumed_at
        if not resumed_at or now >= resumed_at + timedelta(days=BOUNCE_REARM_DAYS):
            return False
        return rate < 2 * (self.mcm_bounce_rate_at_resume or max_rate)

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
