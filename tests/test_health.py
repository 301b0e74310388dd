"""Access health, for real: the scheduled check signs in to every due mailbox (token
refresh at the OAuth emulator, IMAP login and SMTP AUTH on Dovecot), classifies what
fails, moves the status through its one owner, tells the right people once, holds
mail, backs off when throttled, and tells administrators once about an incident of
the app or the provider instead of marking every mailbox."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..devstack.testkit import connect_oauth, set_account_password
from .common import MailboxCase, StackMixin, flip, really_sending, received_all

ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestHealth(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)
        cls.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.health_check_minutes", 15)
        cls.env.company.email = "notifications@company.test"
        cls.user_ada.email = "ada@company.test"
        cls.company_server = cls.env["ir.mail_server"].create(
            {"name": "Company", "smtp_host": "127.0.0.1", "smtp_port": cls.stack["sink_port"], "sequence": 50}
        )

    def setUp(self):
        super().setUp()
        self.addCleanup(flip, self.stack, "reset")
        # a day ahead: every mailbox connected now is due then
        self.t0 = fields.Datetime.now().replace(microsecond=0) + timedelta(days=1)

    def google(self, address):
        mailbox = connect_oauth(self.env(user=self.user_ann), self.stack, "google", address)
        self.assertEqual(mailbox.state, "connected")
        return mailbox

    def run_cron(self):
        self.env["mail.mailbox"]._cron_check_health()

    def alerts(self, mailbox):
        return self.env["mail.mail"].sudo().search([("subject", "ilike", mailbox.email), ("email_to", "!=", False)])

    # ------------------------------------------------------------------ tests
    def test_one_run_finds_exactly_the_lost_mailboxes_and_tells_once(self):
        custom = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE))
        custom.action_connect()
        fine_custom = self.env["mail.mailbox"].with_user(self.user_ben).create(self.custom_values("bob@mail.test"))
        fine_custom.action_connect()
        revoked, fine_google = self.google("lost-run@gmail.test"), self.google("fine-run@gmail.test")
        queued = (
            self.env["mail.mail"]
            .with_user(self.user_ann)  # written by the owner
            .sudo()
            .create({"email_from": ALICE, "email_to": "lead@customer.test", "subject": "Offer", "auto_delete": False})
        )
        contacts = self.env["mailing.contact"].create({"name": "Lead", "email": "lead@customer.test"})
        campaign = self.env["mailing.mailing"].create(
            {
                "subject": "Spring offer",
                "body_html": "<p>Offer</p>",
                "email_from": revoked.email,
                "user_id": self.user_ann.id,  # her campaign
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(0, 0, {"name": "Leads", "contact_ids": contacts.ids})],
                "state": "in_queue",
            }
        )
        # the password changes at the server, a token is revoked at the provider
        old = set_account_password(self.stack, ALICE, "a-new-password-nobody-told-odoo")
        self.addCleanup(set_account_password, self.stack, ALICE, old)
        flip(self.stack, "revoke", email=revoked.email)
        with freeze_time(self.t0):
            self.run_cron()
        states = {box: box.state for box in (custom, revoked, fine_custom, fine_google)}
        self.assertEqual(
            states, {custom: "auth_lost", revoked: "auth_lost", fine_custom: "connected", fine_google: "connected"}
        )
        self.assertTrue(queued.mcm_hold_reason)
        self.assertEqual(campaign.state, "paused")
        # one set of notifications per lost mailbox, through the company's SMTP server, once
        for moment in (self.t0, self.t0 + timedelta(hours=1)):
            with freeze_time(moment), really_sending():
                self.run_cron()
                self.env["mail.mail"].process_email_queue()
        for box in (custom, revoked):
            (alert,) = received_all(self, f"{box.email} is disconnected from Odoo")
            for address in (box.email, "ada@company.test", box.user_id.email):
                self.assertIn(address, alert["X-Envelope-To"])
        for box in (fine_custom, fine_google):
            self.assertEqual(received_all(self, f"{box.email} is disconnected from Odoo"), [])

    def test_revoked_token_found_by_the_scheduled_check_alerts_once(self):
        mailbox = self.google("revoked-health@gmail.test")
        self.user_ann.email = mailbox.email
        queued = (
            self.env["mail.mail"]
            .with_user(self.user_ann)  # written by the owner
            .sudo()
            .create(
                {
                    "email_from": mailbox.email,
                    "email_to": "lead@customer.test",
                    "subject": "Offer",
                    "auto_delete": False,
                }
            )
        )
        flip(self.stack, "revoke", email=mailbox.email)
        with freeze_time(self.t0 + timedelta(hours=1)):  # due
            self.run_cron()
        # red, with the cause and the fix, and the check is in the history
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("no longer accepts Odoo's access", mailbox.last_error_cause)
        self.assertIn("Click Reconnect", mailbox.last_error_fix)
        self.assertEqual(mailbox.access_lost_since, self.t0 + timedelta(hours=1))
        log = mailbox.health_log_ids[:1]
        self.assertEqual((log.trigger, log.result, log.provider_code), ("scheduled", "auth_lost", "invalid_grant"))
        # mail waits
        self.assertEqual((queued.state, bool(queued.mcm_hold_reason)), ("outgoing", True))
        # the owner, the administrators and the mailbox itself, by email through the company's server
        (alert,) = self.alerts(mailbox)
        self.assertEqual(alert.mail_server_id, self.company_server)
        self.assertIn("notifications@company.test", alert.email_from)
        for address in (mailbox.email, "ada@company.test"):
            self.assertIn(address, alert.email_to)
        self.assertFalse(alert.mcm_hold_reason)  # never held by the broken mailbox
        activity = mailbox.activity_ids
        self.assertEqual((activity.user_id, activity.summary), (self.user_ann, f"Reconnect {mailbox.email}"))
        # lost mailboxes are not checked again, and nobody is told twice
        self.assertFalse(mailbox.next_check_at)
        with freeze_time(self.t0 + timedelta(hours=2)):
            self.run_cron()
            mailbox._set_state("auth_lost")  # found again by a send: same incident
        self.assertEqual(len(self.alerts(mailbox)), 1)
        # a reminder after the delay (2 days by default)
        with freeze_time(self.t0 + timedelta(days=2, hours=2)):
            self.run_cron()
        self.assertEqual(len(self.alerts(mailbox)), 2)
        self.assertIn("Reminder", self.alerts(mailbox)[0].subject)

    def test_throttling_backs_off_and_is_not_a_loss(self):
        mailbox = self.google("throttled-health@gmail.test")
        flip(self.stack, "throttle", seconds=600, count=1)
        with freeze_time(self.t0):
            self.run_cron()
        self.assertEqual(mailbox.state, "throttled")
        self.assertEqual(mailbox.next_check_at, self.t0 + timedelta(seconds=600))  # Retry-After honoured
        self.assertFalse(self.alerts(mailbox))
        with freeze_time(self.t0 + timedelta(seconds=300)):
            self.run_cron()  # not due yet: not asked again
        self.assertEqual(mailbox.state, "throttled")
        with freeze_time(self.t0 + timedelta(seconds=601)):
            self.run_cron()
        self.assertEqual(mailbox.state, "connected")
        self.assertEqual(mailbox.health_log_ids.sorted("id").mapped("result"), ["throttled", "ok"])

    def test_passing_failures_become_an_error_only_when_repeated(self):
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE))
        mailbox.action_connect()
        mailbox.sudo().write({"imap_port": 1})  # nothing answers there now
        mailbox._set_state("connected")  # (a new port is not trusted: here it stands for the same server gone)
        moment = self.t0
        for expected in ("connected", "connected", "error"):
            moment = mailbox.next_check_at or moment
            with freeze_time(moment + timedelta(seconds=1)):
                self.run_cron()
            self.assertEqual(mailbox.state, expected)
        self.assertIn("Nothing answers at 127.0.0.1 on port 1", mailbox.last_error_cause)
        self.assertEqual(mailbox.health_log_ids.mapped("result"), ["transient", "transient", "transient"])

    def test_a_refused_app_is_one_incident_for_administrators(self):
        boxes = [self.google(f"app{n}@gmail.test") for n in range(3)]
        self.env["ir.config_parameter"].sudo().set_param("google_gmail_client_secret", "expired-secret")
        with freeze_time(self.t0):
            self.run_cron()
            self.run_cron()
        self.assertEqual({box.state for box in boxes}, {"connected"})  # not marked one by one
        incident = self.env["mail.mailbox.incident"].search([("provider", "=", "google")])
        self.assertEqual((len(incident), incident.kind, incident.mailbox_count), (1, "app", 3))
        self.assertIn("client ID and secret", incident.fix)
        admin_mails = self.env["mail.mail"].sudo().search([("subject", "ilike", "refuses Odoo's app")])
        self.assertEqual(len(admin_mails), 1)
        self.assertIn("ada@company.test", admin_mails.email_to)
        for box in boxes:
            self.assertFalse(self.alerts(box))

    def test_an_expired_client_secret_at_microsoft_is_one_incident(self):
        env = self.env(user=self.user_ann)
        boxes = [connect_oauth(env, self.stack, "microsoft", f"expired{n}@contoso.test") for n in range(2)]
        self.assertEqual({box.state for box in boxes}, {"connected"})
        flip(self.stack, "expire_secret", on="1")
        with freeze_time(self.t0):
            self.run_cron()
        self.assertEqual({box.state for box in boxes}, {"connected"})  # no mailbox in access lost
        incident = self.env["mail.mailbox.incident"].search([("provider", "=", "microsoft")])
        self.assertEqual((len(incident), incident.kind, incident.provider_code), (1, "app", "AADSTS7000222"))
        admin_mails = self.env["mail.mail"].sudo().search([("subject", "ilike", "refuses Odoo's app")])
        self.assertEqual(len(admin_mails), 1)
        self.assertIn("Microsoft", admin_mails.subject)
        self.assertIn("expired", admin_mails.body_html)  # the provider's words, and the fix
        self.assertIn("client ID and secret", admin_mails.body_html)
        for box in boxes:
            self.assertFalse(self.alerts(box))

    def test_a_provider_outage_is_one_incident(self):
        boxes = [self.google(f"outage{n}@gmail.test") for n in range(3)]
        flip(self.stack, "outage", on="1")
        with freeze_time(self.t0):
            self.run_cron()
        self.assertEqual({box.state for box in boxes}, {"connected"})
        incident = self.env["mail.mailbox.incident"].search([("provider", "=", "google"), ("kind", "=", "outage")])
        self.assertEqual(len(incident), 1)
        flip(self.stack, "outage", on="0")
        with freeze_time(self.t0 + timedelta(hours=1)):
            self.run_cron()
        self.assertTrue(incident.closed_at)

    def test_health_board_bulk_actions(self):
        ann_box = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE))
        ann_box.action_connect()
        ben_box = self.env["mail.mailbox"].with_user(self.user_ben).create(self.custom_values("bob@mail.test"))
        ben_box.action_connect()
        self.user_ben.email = "ben@company.test"
        old = set_account_password(self.stack, ALICE, "changed-by-its-owner")
        self.addCleanup(set_account_password, self.stack, ALICE, old)
        board = (ann_box | ben_box).with_user(self.user_ada)
        answer = board.action_bulk_check()
        self.assertEqual(answer["params"]["message"], "2 checked: 1 worked, 1 failed.")
        self.assertEqual((ann_box.state, ben_box.state), ("auth_lost", "connected"))
        self.assertTrue(ann_box.state_changed_at)
        # one message per owner, with a link for each of their mailboxes
        board.action_bulk_send_links()
        sent = self.env["mail.mail"].sudo().search([("subject", "=", "Please reconnect your mailboxes to Odoo")])
        self.assertEqual(
            sorted(sent.mapped("email_to")), sorted([self.user_ann.email_formatted, self.user_ben.email_formatted])
        )
        for mail in sent:
            self.assertEqual(mail.body_html.count("/mailbox/reconnect/"), 2)  # the link's text and target
            self.assertEqual(mail.mail_server_id, self.company_server)
        with self.assertRaisesRegex(AccessError, "Only a mailbox administrator"):
            ben_box.with_user(self.user_ben).action_bulk_send_links()
        board.action_bulk_disable()
        self.assertEqual((ann_box.state, ben_box.state), ("disabled", "disabled"))

    def test_nothing_else_writes_the_status(self):
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(ALICE))
        with self.assertRaisesRegex(UserError, "through its checks and buttons only"):
            mailbox.sudo().write({"state": "connected"})
