"""A mailbox that bounces too much pauses every campaign sending through it, with the
reason, and tells its owner and each campaign's responsible; after Resume the campaign
is left alone for 7 days unless the rate doubles. The limits are the owner's company's
(Settings) or the mailbox's own. Campaigns sending through a mailbox get it as Reply-To.

The traces are written as the sync writes them when it applies a bounce (sent through
the mailbox, hard or soft); the mailboxes are real ones on the local Dovecot."""

import json
import secrets
from datetime import timedelta

from freezegun import freeze_time
from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from odoo.addons.bus.models.bus import channel_with_db, json_dump

from .common import MailboxCase, StackMixin

ALICE = "alice@mail.test"
BOB = "bob@mail.test"
REASON_7 = "7 of the last 100 messages bounced: check the list before you resume"


@tagged("post_install", "-at_install")
class TestBounceGuard(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)
        marketing = cls.env.ref("mass_mailing.group_mass_mailing_user")
        (cls.user_ann | cls.user_ben).groups_id += marketing
        cls.mailbox = cls.env["mail.mailbox"].with_user(cls.user_ann).create(cls.custom_values(cls, ALICE))
        cls.mailbox.action_connect()
        cls.other = cls.env["mail.mailbox"].with_user(cls.user_ben).create(cls.custom_values(cls, BOB))
        cls.other.action_connect()
        cls.company = cls.user_ann.company_id
        cls.company.write({"mcm_bounce_window": 100, "mcm_bounce_max_rate": 5.0})
        cls.t0 = fields.Datetime.now() - timedelta(days=1)

    # ------------------------------------------------------------------ helpers
    def campaign(self, address, user, state="in_queue", **values):
        tag = secrets.token_hex(4)
        contacts = self.env["mailing.contact"].create({"name": "Lead", "email": f"lead-{tag}@customer.test"})
        mailing_list = self.env["mailing.list"].create({"name": f"Leads {tag}", "contact_ids": contacts.ids})
        return self.env["mailing.mailing"].create(
            {
                "subject": f"Spring offer {tag}",
                "body_html": "<p>Our spring offer</p>",
                "email_from": address,
                "user_id": user.id,
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(4, mailing_list.id)],
                "state": state,
                **values,
            }
        )

    def messages(self, mailing, mailbox, total, *, hard=0, soft=0, start=0):
        """``total`` campaign messages that left through ``mailbox``, oldest first from
        ``start`` minutes after t0; ``hard`` of them bounced for good (spread among
        them), ``soft`` more bounced for a while."""
        hard_at = {round(n * total / hard) for n in range(hard)} if hard else set()
        soft_at = [n for n in range(total) if n not in hard_at][:soft]
        contact = mailing.contact_list_ids.contact_ids[:1]
        self.env["mailing.trace"].sudo().create(
            [
                {
                    "mass_mailing_id": mailing.id,
                    "model": "mailing.contact",
                    "res_id": contact.id,
                    "email": f"r{start + n}-{secrets.token_hex(3)}@customer.test",
                    "trace_status": "bounce" if n in hard_at else "sent",
                    "sent_datetime": self.t0 + timedelta(minutes=start + n),
                    "mcm_mailbox_id": mailbox.id,
                    "mcm_bounce_kind": "hard" if n in hard_at else ("soft" if n in soft_at else False),
                }
                for n in range(total)
            ]
        )
        self.assertEqual(len(hard_at), hard)

    def needs_attention(self):
        """The mailboxes the health board lists by default (its "Needs attention" filter)."""
        arch = etree.fromstring(self.env.ref("mail_connected_mailbox.mail_mailbox_view_search").arch)
        domain = safe_eval(arch.xpath("//filter[@name='needs_attention']")[0].get("domain"))
        return self.env["mail.mailbox"].search(domain)

    def toasts_to(self, user):
        self.env.flush_all()
        self.env.cr.precommit.run()  # the bus's messages are written when the transaction ends
        channel = json_dump(channel_with_db(self.env.cr.dbname, user.partner_id))
        rows = self.env["bus.bus"].sudo().search([("channel", "=", channel)], order="id")
        sent = [json.loads(row.message) for row in rows]
        return [m["payload"] for m in sent if m["type"] == "simple_notification"]

    def paused_for_bounces(self, mailing, reason=REASON_7):
        self.assertEqual(
            (mailing.state, mailing.mcm_pause_cause, mailing.mcm_pause_reason), ("paused", "bounces", reason)
        )

    # ------------------------------------------------------------------ tests
    def test_seven_of_a_hundred_pause_every_campaign_of_the_mailbox(self):
        sending = self.campaign(ALICE, self.user_ann, state="sending")
        scheduled = self.campaign(
            ALICE, self.user_ben, schedule_type="scheduled", schedule_date=self.t0 + timedelta(days=3)
        )
        elsewhere = self.campaign(BOB, self.user_ben)
        self.messages(sending, self.mailbox, 100, hard=7, soft=3)
        self.messages(elsewhere, self.other, 100, hard=1)
        self.assertNotIn(self.mailbox, self.needs_attention())
        (self.mailbox | self.other)._mcm_bounce_guard()
        # every campaign through Alice's mailbox, with the reason; soft bounces do not count
        self.paused_for_bounces(sending)
        self.paused_for_bounces(scheduled)
        self.assertEqual(sending.mcm_mailbox_id, self.mailbox)
        self.assertEqual((self.mailbox.mcm_bounce_rate, self.mailbox.mcm_bouncing), (7.0, True))
        # the other mailbox's campaign sends on
        self.assertEqual((elsewhere.state, elsewhere.mcm_pause_reason), ("in_queue", False))
        self.assertEqual((self.other.mcm_bounce_rate, self.other.mcm_bouncing), (1.0, False))
        # the owner: a toast, and a note on the mailbox addressed to her
        toasts = [t for t in self.toasts_to(self.user_ann) if "bounces" in t["title"]]
        self.assertEqual([t["title"] for t in toasts], ["Campaigns paused: alice@mail.test bounces"])
        self.assertIn(REASON_7, toasts[0]["message"])
        self.assertIn("above the limit of 5 %", toasts[0]["message"])
        note = self.mailbox.message_ids.filtered(lambda m: REASON_7 in m.body)
        self.assertEqual(len(note), 1)
        self.assertEqual(note.partner_ids, self.user_ann.partner_id)
        self.assertIn(scheduled.subject, note.body)
        # each campaign's responsible: a to-do on the campaign
        for mailing, user in ((sending, self.user_ann), (scheduled, self.user_ben)):
            activity = mailing.activity_ids
            self.assertEqual(len(activity), 1)
            self.assertEqual(activity.user_id, user)
            self.assertEqual(activity.summary, "Check the recipients: alice@mail.test bounces")
            self.assertIn(REASON_7, str(activity.note))
        self.assertFalse(elsewhere.activity_ids)
        # the health board lists it among those that need attention, and as bouncing
        self.assertEqual(self.mailbox.state, "connected")
        self.assertIn(self.mailbox, self.needs_attention())
        self.assertNotIn(self.other, self.needs_attention())
        self.assertEqual(self.env["mail.mailbox"].search([("mcm_bouncing", "=", True)]), self.mailbox)

    def test_five_of_a_hundred_do_not_pause(self):
        mailing = self.campaign(ALICE, self.user_ann, state="sending")
        self.messages(mailing, self.mailbox, 100, hard=5, soft=10)
        self.mailbox._mcm_bounce_guard()
        self.assertEqual(mailing.state, "sending")
        self.assertEqual((self.mailbox.mcm_bounce_rate, self.mailbox.mcm_bouncing), (5.0, False))
        self.assertFalse(mailing.activity_ids)
        self.assertNotIn(self.mailbox, self.needs_attention())

    def test_no_verdict_under_twenty_messages(self):
        mailing = self.campaign(ALICE, self.user_ann, state="sending")
        self.messages(mailing, self.mailbox, 19, hard=3)
        self.mailbox._mcm_bounce_guard()
        self.assertEqual(mailing.state, "sending")
        self.assertFalse(self.mailbox.mcm_bouncing)
        self.messages(mailing, self.mailbox, 1, start=19)  # the 20th: now it is a rate
        self.mailbox._mcm_bounce_guard()
        self.paused_for_bounces(mailing, "3 of the last 20 messages bounced: check the list before you resume")

    def test_only_the_latest_messages_count(self):
        mailing = self.campaign(ALICE, self.user_ann, state="sending")
        self.messages(mailing, self.mailbox, 100, hard=30)  # long ago: the list was cleaned since
        self.messages(mailing, self.mailbox, 100, hard=2, start=100)
        self.mailbox._mcm_bounce_guard()
        self.assertEqual(mailing.state, "sending")
        self.assertEqual(self.mailbox.mcm_bounce_rate, 2.0)

    def test_resume_leaves_it_alone_for_seven_days(self):
        mailing = self.campaign(ALICE, self.user_ann, state="sending")
        self.messages(mailing, self.mailbox, 100, hard=7)
        self.mailbox._mcm_bounce_guard()
        self.paused_for_bounces(mailing)
        # the responsible checked the list and resumes
        mailing.with_user(self.user_ann).action_mcm_resume()
        self.assertEqual((mailing.state, mailing.mcm_pause_reason, mailing.mcm_pause_cause), ("sending", False, False))
        self.assertEqual(mailing.mcm_bounce_rate_at_resume, 7.0)
        self.assertTrue(mailing.mcm_bounce_resumed_at)
        resumed_at = mailing.mcm_bounce_resumed_at
        # more bounces, the rate the same (7 of the last 100): it sends on, for 7 days
        self.messages(mailing, self.mailbox, 10, hard=1, start=100)
        with freeze_time(resumed_at + timedelta(days=6, hours=23)):
            self.mailbox._mcm_bounce_guard()
        self.assertEqual(mailing.state, "sending")
        self.assertTrue(self.mailbox.mcm_bouncing)  # the board still says so
        # after 7 days, the same rate pauses it again
        with freeze_time(resumed_at + timedelta(days=7, minutes=1)):
            self.mailbox._mcm_bounce_guard()
        self.paused_for_bounces(mailing)

    def test_a_doubled_rate_pauses_again_within_seven_days(self):
        mailing = self.campaign(ALICE, self.user_ann, state="sending")
        self.messages(mailing, self.mailbox, 100, hard=7)
        self.mailbox._mcm_bounce_guard()
        mailing.with_user(self.user_ann).action_mcm_resume()
        self.messages(mailing, self.mailbox, 100, hard=14, start=100)  # 14 of the last 100
        self.mailbox._mcm_bounce_guard()
        self.paused_for_bounces(mailing, "14 of the last 100 messages bounced: check the list before you resume")
        self.assertEqual(len(mailing.activity_ids), 2)

    def test_a_reconnect_does_not_resume_what_bounces_paused(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.resume_campaigns", "auto")
        mailing = self.campaign(ALICE, self.user_ann, state="sending")
        self.messages(mailing, self.mailbox, 100, hard=7)
        self.mailbox._mcm_bounce_guard()
        self.mailbox._on_sending_resumed()
        self.paused_for_bounces(mailing)

    def test_the_mailbox_limit_wins_over_the_company(self):
        mailing = self.campaign(ALICE, self.user_ann, state="sending")
        self.messages(mailing, self.mailbox, 100, hard=7)
        self.company.mcm_bounce_max_rate = 10.0  # Settings: above 10 %
        self.mailbox._mcm_bounce_guard()
        self.assertEqual(mailing.state, "sending")
        # a mailbox administrator sets this mailbox's own, stricter limit
        self.user_ada.groups_id += self.env.ref("mail_connected_mailbox.mail_connected_mailbox_group_admin")
        self.mailbox.with_user(self.user_ada).mcm_bounce_max_rate_override = 6.0
        self.mailbox._mcm_bounce_guard()
        self.paused_for_bounces(mailing)
        # and a looser one wins over a stricter company
        other = self.campaign(BOB, self.user_ben, state="sending")
        self.messages(other, self.other, 100, hard=7)
        self.company.mcm_bounce_max_rate = 5.0
        self.other.with_user(self.user_ada).mcm_bounce_max_rate_override = 8.0
        self.other._mcm_bounce_guard()
        self.assertEqual(other.state, "sending")

    def test_limits_refuse_bad_values_and_users_cannot_set_them(self):
        settings = self.env["res.config.settings"].with_user(self.user_ada)
        for values, message in (
            ({"mcm_bounce_window": 5}, "Count the bounce rate over 10 messages at least (5 given)"),
            ({"mcm_bounce_max_rate": 0.0}, "a percentage above 0 and at most 100 (0.0 given)"),
            ({"mcm_bounce_max_rate": 150.0}, "a percentage above 0 and at most 100 (150.0 given)"),
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError) as caught, self.env.cr.savepoint():
                settings.create(values).execute()
                self.env.flush_all()
            self.assertIn(message, str(caught.exception))
        settings.create({"mcm_bounce_window": 200, "mcm_bounce_max_rate": 2.5}).execute()
        self.assertEqual((self.company.mcm_bounce_window, self.company.mcm_bounce_max_rate), (200, 2.5))
        self.assertEqual(self.mailbox._mcm_bounce_limits(), (200, 2.5))
        # the owner cannot raise her mailbox's limit, nor write what the guard counts
        with self.assertRaisesRegex(AccessError, "Only a mailbox administrator can change a mailbox's bounce limit"):
            self.mailbox.with_user(self.user_ann).mcm_bounce_max_rate_override = 50.0
        with self.assertRaisesRegex(AccessError, "Odoo counts a mailbox's bounces itself"):
            self.mailbox.with_user(self.user_ann).write({"mcm_bouncing": False})
        self.user_ada.groups_id += self.env.ref("mail_connected_mailbox.mail_connected_mailbox_group_admin")
        with (
            self.assertRaisesRegex(ValidationError, r"a percentage from 0 to 100 \(150.0 given\)"),
            self.env.cr.savepoint(),
        ):
            self.mailbox.with_user(self.user_ada).mcm_bounce_max_rate_override = 150.0

    def test_replies_come_back_to_the_mailbox(self):
        Mailing = self.env["mailing.mailing"].with_user(self.user_ann)
        values = {
            "subject": "Replies",
            "body_html": "<p>x</p>",
            "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
        }
        through = Mailing.create({**values, "email_from": ALICE})
        self.assertEqual(through.reply_to, '"Ann Seller" <alice@mail.test>')
        # a Reply-To she typed stays; Odoo's default stays for mail that does not use a mailbox
        typed = Mailing.create({**values, "email_from": ALICE, "reply_to": "team@example.com"})
        self.assertEqual(typed.reply_to, "team@example.com")
        plain = Mailing.create({**values, "email_from": "ann@example.com"})
        self.assertEqual(plain.reply_to, self.user_ann.email_formatted)
        plain.email_from = ALICE  # now through her mailbox
        self.assertEqual(plain.reply_to, '"Ann Seller" <alice@mail.test>')
        # replies to a lead's campaign go to the lead's thread, as Odoo does
        leads = Mailing.create(
            {**values, "email_from": ALICE, "mailing_model_id": self.env.ref("crm.model_crm_lead").id}
        )
        self.assertEqual(leads.reply_to_mode, "update")
        self.assertFalse(leads.reply_to)
