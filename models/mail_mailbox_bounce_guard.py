from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .mail_mailbox import ADMIN_GROUP

LEFT = ("sent", "open", "reply", "bounce")  # trace states of a message that left
MIN_VERDICT = 20  # no verdict on fewer messages: one bounce in the first three is no rate
GUARD_FIELDS = {"mcm_bounce_rate", "mcm_bouncing"}
DEFAULT_WINDOW = 100
DEFAULT_MAX_RATE = 5.0


def bounce_verdict(hard, count, window, max_rate):
    """``(rate, above)`` for ``hard`` hard bounces among a mailbox's ``count`` latest
    campaign messages (at most ``window``): the rate in %, and whether it is above
    ``max_rate`` (7 of 100 is above 5 %, 5 of 100 is not), on enough messages to judge."""
    if not count:
        return 0.0, False
    rate = 100.0 * hard / count
    return rate, count >= min(window, MIN_VERDICT) and hard * 100 > max_rate * count


class MailMailboxBounceGuard(models.Model):
    """A mailbox that bounces too much pauses the campaigns sending through it: over
    its latest campaign messages (the owner's company says how many, 100 by default),
    a hard-bounce rate above the limit (the company's, 5 % by default, or the
    mailbox's own) pauses each, with the reason, and tells the owner and each
    campaign's responsible. After Resume, the same campaign is left alone for 7 days
    unless the rate doubles."""

    _inherit = "mail.mailbox"

    mcm_bounce_max_rate_override = fields.Float(
        "Pause campaigns above (% hard bounces)",
        help="This mailbox's own limit: above this hard-bounce rate, its campaigns pause. "
        "0: the limit of its owner's company (Settings).",
    )
    mcm_bounce_rate = fields.Float(
        "Hard bounces (%)",
        digits=(5, 1),
        readonly=True,
        help="The hard-bounce rate of this mailbox's latest campaign messages, as of its last bounce.",
    )
    mcm_bouncing = fields.Boolean(
        "Bouncing",
        readonly=True,
        help="Its hard-bounce rate is above the limit: the campaigns sending through it are paused.",
    )

    @api.constrains("mcm_bounce_max_rate_override")
    def _check_mcm_bounce_max_rate_override(self):
        for mailbox in self:
            if not 0 <= mailbox.mcm_bounce_max_rate_override <= 100:
                raise ValidationError(
                    _(
                        "A mailbox's bounce limit is a percentage from 0 to 100 (%(rate)s given); "
                        "0 follows the company's limit in Settings.",
                        rate=mailbox.mcm_bounce_max_rate_override,
                    )
                )

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._mcm_check_bounce_fields(vals, creating=True)
        return super().create(vals_list)

    def write(self, vals):
        self._mcm_check_bounce_fields(vals)
        return super().write(vals)

    @api.model
    def _mcm_check_bounce_fields(self, vals, creating=False):
        if self.env.su:
            return
        if GUARD_FIELDS & vals.keys():
            raise AccessError(_("Odoo counts a mailbox's bounces itself."))
        # an owner raising her own limit would silence the guard
        changed = vals.get("mcm_bounce_max_rate_override") if creating else "mcm_bounce_max_rate_override" in vals
        if changed and not self.env.user.has_group(ADMIN_GROUP):
            raise AccessError(_("Only a mailbox administrator can change a mailbox's bounce limit."))

    # ------------------------------------------------------------------ the guard
    def _mcm_bounce_limits(self):
        """``(window, max_rate)``: the owner's company's, the mailbox's own limit first."""
        self.ensure_one()
        company = self.sudo().user_id.company_id or self.env.company
        window = company.mcm_bounce_window or DEFAULT_WINDOW
        max_rate = self.mcm_bounce_max_rate_override or company.mcm_bounce_max_rate or DEFAULT_MAX_RATE
        return window, max_rate

    def _mcm_bounce_figures(self):
        """The hard bounces among this mailbox's latest campaign messages that left,
        newest first: ``{hard, count, window, max_rate, rate, above}``."""
        self.ensure_one()
        window, max_rate = self._mcm_bounce_limits()
        traces = (
            self.env["mailing.trace"]
            .sudo()
            .search_read(
                [("mcm_mailbox_id", "=", self.id), ("trace_status", "in", LEFT)],
                ["mcm_bounce_kind"],
                order="sent_datetime desc, id desc",
                limit=window,
            )
        )
        hard = sum(1 for trace in traces if trace["mcm_bounce_kind"] == "hard")
        rate, above = bounce_verdict(hard, len(traces), window, max_rate)
        return {
            "hard": hard,
            "count": len(traces),
            "window": window,
            "max_rate": max_rate,
            "rate": rate,
            "above": above,
        }

    def _mcm_bounce_guard(self):
        """Look at these mailboxes' recent hard bounces (called after new bounces were
        applied): the rate shows on the health board, and a mailbox above its limit
        pauses the campaigns sending through it."""
        for mailbox in self.sudo():
            figures = mailbox._mcm_bounce_figures()
            mailbox.write({"mcm_bounce_rate": figures["rate"], "mcm_bouncing": figures["above"]})
            if figures["above"]:
                mailbox._mcm_pause_for_bounces(figures)

    def _mcm_campaigns_sending(self):
        """The campaigns sending through this mailbox: queued, scheduled or generating,
        and those that finished generating with mail still to leave."""
        self.ensure_one()
        Mailing = self.env["mailing.mailing"].sudo()
        finished = Mailing.search([("state", "=", "done"), ("mailing_trace_ids.trace_status", "=", "outgoing")])
        return Mailing._mcm_of_mailbox(self, ("in_queue", "sending")) | finished.filtered(
            lambda mailing: mailing._mcm_mailbox() == self
        )

    def _mcm_pause_for_bounces(self, figures):
        self.ensure_one()
        now = fields.Datetime.now()
        mailings = self._mcm_campaigns_sending().filtered(
            lambda mailing: not mailing._mcm_bounce_pause_waived(figures["rate"], figures["max_rate"], now)
        )
        if not mailings:
            return
        reason = _(
            "%(hard)s of the last %(count)s messages bounced: check the list before you resume",
            hard=figures["hard"],
            count=figures["count"],
        )
        mailings._mcm_pause(self, reason=reason, cause="bounces")
        names = ", ".join(mailings.mapped("subject"))
        limit = _("above the limit of %(max_rate)s %%", max_rate="{:g}".format(figures["max_rate"]))
        # the owner: a toast now, and a note on the mailbox that reaches their inbox
        self._send_live_toast(
            _("Campaigns paused: %(address)s bounces", address=self.email),
            _("%(reason)s (%(limit)s). Paused: %(names)s.", reason=reason, limit=limit, names=names),
            "warning",
        )
        owner = self.user_id.partner_id
        self.message_post(
            body=Markup("%s")
            % _(
                "%(reason)s (%(limit)s). The campaigns sending through this mailbox are paused: %(names)s. "
                "Check their recipient lists, then click Resume on each.",
                reason=reason,
                limit=limit,
                names=names,
            ),
            partner_ids=owner.ids,
            subtype_xmlid="mail.mt_note",
        )
        # each campaign's responsible: a to-do on the campaign
        for mailing in mailings.filtered("user_id"):
            mailing.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=mailing.user_id.id,
                summary=_("Check the recipients: %(address)s bounces", address=self.email),
                note=_(
                    "%(reason)s. The campaign is paused; remove the addresses that bounced, then click Resume.",
                    reason=reason,
                ),
            )

    def _paused_campaigns(self):
        """A reconnect does not resume a campaign paused because the mailbox bounced:
        only Resume does, once someone checked the list."""
        return super()._paused_campaigns().filtered(lambda mailing: mailing.mcm_pause_cause != "bounces")
