from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .mail_mailbox import count_shown, counted

WINDOW_SECONDS = 60


class MailMailboxCheckCounter(models.Model):
    """How many connection checks of custom servers each user started in the current
    minute: the per-user rate limit. One row per user, updated under a row lock, so
    that parallel requests cannot each see room for one more (under REPEATABLE READ,
    a request that meets a concurrent update fails and is retried by Odoo).

    No access rights: only the server writes and reads it.
    """

    _name = "mail.mailbox.check.counter"
    _description = "Connection checks per user and minute"
    _log_access = False

    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")
    window_start = fields.Datetime(required=True)
    count = fields.Integer(required=True, default=0)

    _sql_constraints = [("user_uniq", "unique(user_id)", "One counter per user.")]

    @api.model
    def _count_check(self, per_minute, user=None, count=1):
        """Count ``count`` connections started by ``user`` (default: the current user);
        refuse them beyond ``per_minute`` a minute."""
        cr = self.env.cr
        uid = (user or self.env.user).id
        started = count
        self.flush_model()
        cr.execute(
            SQL(
                "INSERT INTO mail_mailbox_check_counter (user_id, window_start, count) "
                "VALUES (%s, (now() AT TIME ZONE 'UTC'), 0) ON CONFLICT (user_id) DO NOTHING",
                uid,
            ),
            log_exceptions=False,  # see below
        )
        cr.execute(
            SQL(
                "SELECT count, EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC') - window_start) "
                "FROM mail_mailbox_check_counter WHERE user_id = %s FOR UPDATE",
                uid,
            ),
            log_exceptions=False,  # a serialization failure here is expected: the request is retried
        )
        count, age = cr.fetchone() or (0, WINDOW_SECONDS)
        if age >= WINDOW_SECONDS:
            count, age = 0, 0
            cr.execute(
                SQL(
                    "UPDATE mail_mailbox_check_counter SET count = 0, window_start = (now() AT TIME ZONE 'UTC') "
                    "WHERE user_id = %s",
                    uid,
                )
            )
        if started > per_minute:
            raise UserError(
                _(
                    "Odoo connects to at most %(most)s of your mailboxes' servers a minute: select fewer.",
                    most=per_minute,
                )
            )
        if count + started > per_minute:
            raise UserError(
                _(
                    "You started %(count)s connections to mail servers in the last minute (tests, checks, syncs), "
                    "the most Odoo allows. "
                    "Wait %(seconds)s, then try again.",
                    count=count_shown(self.env, count),
                    seconds=counted(
                        self.env, max(1, int(WINDOW_SECONDS - age)), _("%(count)s second"), _("%(count)s seconds")
                    ),
                )
            )
        cr.execute(SQL("UPDATE mail_mailbox_check_counter SET count = count + %s WHERE user_id = %s", started, uid))

    @api.autovacuum
    def _gc_check_counters(self):
        self.env.cr.execute(
            "DELETE FROM mail_mailbox_check_counter WHERE window_start < (now() AT TIME ZONE 'UTC') - interval '1 day'"
        )
