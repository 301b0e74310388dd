from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.tools import SQL

MEASURES = ("sent", "hard", "soft", "replied")
WINDOWS = (7, 30)  # days, today included
FIGURES = tuple(f"{measure}_{days}" for measure in MEASURES for days in WINDOWS)  # "sent_7", …


class MailMailboxSendDay(models.Model):
    """What left through each mailbox, by day: campaign messages (their traces) and
    chatter mail (its notifications), with the hard and soft bounces and the replies
    they drew, counted on the day the message was sent (so that a campaign's line is
    whole). A read-only SQL view, for the mailbox's and the campaign's figures and
    graph."""

    _name = "mail.mailbox.send.day"
    _description = "Mail sent through a mailbox, by day"
    _auto = False
    _order = "day desc, mailbox_id"
    _rec_name = "day"

    mailbox_id = fields.Many2one("mail.mailbox", readonly=True)
    mailing_id = fields.Many2one("mailing.mailing", string="Campaign", readonly=True)
    day = fields.Date(readonly=True)
    sent = fields.Integer(readonly=True)
    hard = fields.Integer("Hard bounces", readonly=True)
    soft = fields.Integer("Soft bounces", readonly=True)
    replied = fields.Integer(readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %(table)s AS (
                    SELECT min(t.id) * 2 AS id,
                           t.mcm_mailbox_id AS mailbox_id,
                           t.mass_mailing_id AS mailing_id,
                           t.sent_datetime::date AS day,
                           count(*) AS sent,
                           count(*) FILTER (WHERE t.trace_status = 'bounce' OR t.mcm_bounce_kind = 'hard') AS hard,
                           count(*) FILTER (WHERE t.trace_status != 'bounce' AND t.mcm_bounce_kind = 'soft') AS soft,
                           count(*) FILTER (WHERE t.trace_status = 'reply') AS replied
                      FROM mailing_trace t
                     WHERE t.mcm_mailbox_id IS NOT NULL
                       AND t.sent_datetime IS NOT NULL
                       AND t.trace_status IN ('sent', 'open', 'reply', 'bounce')
                  GROUP BY t.mcm_mailbox_id, t.mass_mailing_id, t.sent_datetime::date
                 UNION ALL
                    SELECT min(n.id) * 2 + 1 AS id,
                           n.mcm_mailbox_id AS mailbox_id,
                           NULL::integer AS mailing_id,
                           m.date::date AS day,
                           count(*) AS sent,
                           count(*) FILTER (WHERE n.notification_status = 'bounce') AS hard,
                           0 AS soft,
                           0 AS replied
                      FROM mail_notification n
                      JOIN mail_message m ON m.id = n.mail_message_id
                     WHERE n.notification_type = 'email'
                       AND n.mcm_mailbox_id IS NOT NULL
                       AND n.notification_status IN ('sent', 'bounce')
                  GROUP BY n.mcm_mailbox_id, m.date::date
                )
                """,
                table=SQL.identifier(self._table),
            )
        )

    @api.model
    def _mcm_figures(self, field, ids):
        """``{id: {"sent_7": n, "hard_7": n, …, "replied_30": n}}`` for the mailboxes or
        campaigns ``ids`` (``field``: ``mailbox_id`` or ``mailing_id``), over the last 7
        and 30 days, today included: one grouped read, by day."""
        today = fields.Date.context_today(self)
        since = {days: today - timedelta(days=days - 1) for days in WINDOWS}
        figures = {id_: dict.fromkeys(FIGURES, 0) for id_ in ids}
        groups = self.sudo()._read_group(
            [(field, "in", list(ids)), ("day", ">=", since[max(WINDOWS)])],
            groupby=[field, "day:day"],
            aggregates=[f"{measure}:sum" for measure in MEASURES],
        )
        for record, day, *sums in groups:
            for days in WINDOWS:
                if day >= since[days]:
                    for measure, value in zip(MEASURES, sums, strict=True):
                        figures[record.id][f"{measure}_{days}"] += value or 0
        return figures
