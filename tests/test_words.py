"""The words and the guards behind the screens: a new password checked on write (the
real Dovecot account), no duplicate of a mailbox, an archived mailbox's address and
kind kept, counts in words that agree with their number and the user's language."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models.mail_mailbox import counted
from .common import MailboxCase, StackMixin

ALICE = "alice@mail.test"


@tagged("post_install", "-at_install")
class TestWords(StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def new_mailbox(self, address=ALICE, **values):
        return self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(address, **values))

    def connected(self):
        mailbox = self.new_mailbox()
        mailbox.with_user(self.user_ann).action_connect()
        self.assertEqual(mailbox.state, "connected")
        return mailbox

    # ------------------------------------------------------------------ new password on write
    def test_a_wrong_new_password_is_refused_on_write_and_the_old_one_kept(self):
        mailbox = self.connected()
        good = mailbox._get_secret("password")
        with self.assertRaises(UserError) as caught:
            mailbox.with_user(self.user_ann).write({"password": "a-typo"})
        text = str(caught.exception)
        self.assertIn("The new password was refused", text)
        self.assertIn("keeps its previous password", text)
        self.assertIn("refused the login or password", text)  # the cause
        self.assertIn("Reconnect", text)  # the fix names the button
        self.assertNotIn("a-typo", text)
        self.assertEqual(mailbox._get_secret("password"), good)
        self.assertFalse(mailbox._get_secret("password_new"))
        self.assertEqual(mailbox.state, "connected")

    def test_a_right_new_password_is_accepted_on_write(self):
        mailbox = self.connected()
        good = mailbox._get_secret("password")
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_check_now()
        self.assertEqual(mailbox.state, "auth_lost")
        mailbox.with_user(self.user_ann).write({"password": good})  # tried first: it works
        mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual(mailbox.state, "connected")
        self.assertEqual(mailbox._get_secret("password"), good)

    def test_a_password_for_a_mailbox_never_connected_is_stored_unchecked(self):
        mailbox = self.new_mailbox(password=False)
        mailbox.with_user(self.user_ann).write({"password": "anything"})  # Connect checks it
        self.assertTrue(mailbox.has_password)

    # ------------------------------------------------------------------ duplicate, archive
    def test_duplicate_is_refused_and_not_offered(self):
        mailbox = self.new_mailbox()
        with self.assertRaisesRegex(UserError, "cannot be duplicated"):
            mailbox.with_user(self.user_ann).copy()
        for view in ("mail_mailbox_view_form", "mail_mailbox_view_list"):
            arch = self.env["mail.mailbox"].get_view(self.env.ref(f"mail_connected_mailbox.{view}").id)["arch"]
            self.assertIn('duplicate="0"', arch, view)

    def test_an_archived_mailbox_keeps_its_address_and_kind(self):
        mailbox = self.new_mailbox()
        mailbox.with_user(self.user_ann).action_archive()
        self.assertEqual(mailbox.state, "draft")
        with self.assertRaises(AccessError):
            mailbox.with_user(self.user_ann).write({"email": "other@mail.test"})
        with self.assertRaises(AccessError):
            mailbox.with_user(self.user_ann).write({"provider": "google"})

    def test_disconnect_says_so_and_goes_back_to_the_mailboxes(self):
        mailbox = self.connected()
        wizard = self.env["mail.mailbox.disconnect.wizard"].with_user(self.user_ann).create({"mailbox_id": mailbox.id})
        action = wizard.action_confirm()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("alice@mail.test is disconnected", action["params"]["message"])
        self.assertEqual(action["params"]["next"]["res_model"], "mail.mailbox")
        self.assertEqual(action["params"]["next"]["target"], "main")
        self.assertFalse(mailbox.active)

    def test_a_failure_toast_is_not_sticky(self):
        mailbox = self.connected()
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        action = mailbox.with_user(self.user_ann).action_reconnect()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertFalse(action["params"]["sticky"])

    # ------------------------------------------------------------------ words
    def test_default_name_is_the_address(self):
        mailbox = self.new_mailbox()
        self.assertEqual(mailbox.name, ALICE)
        oauth = self.env["mail.mailbox"].with_user(self.user_ann).new({"provider": "google"})
        self.assertEqual(oauth.name, "New mailbox")  # until the sign-in gives its address
        self.assertNotIn("IMAP", oauth.name)

    def test_counts_agree_with_their_number_and_the_language(self):
        env = self.env(context={"lang": "en_US"})
        self.assertEqual(counted(env, 1, "%(count)s owner", "%(count)s owners"), "1 owner")
        self.assertEqual(counted(env, 23000, "%(count)s owner", "%(count)s owners"), "23,000 owners")
        mailbox = self.new_mailbox().with_env(env)
        mailbox.sudo().write({"send_limit_minute": 1, "send_limit_day": 23000, "send_limit_recipients_day": 0})
        self.assertEqual(mailbox._limits_text(), "1 message a minute, 23,000 messages a day")

    def test_the_past_mail_progress_agrees_with_its_count(self):
        mailbox = self.new_mailbox().with_context(lang="en_US")
        Sync = self.env["mail.mailbox.sync"].sudo()
        row = Sync.search([("mailbox_id", "=", mailbox.id)]) or Sync.create({"mailbox_id": mailbox.id})
        row.write({"remaining": 23000})
        # the count is the Messages button's: the messages stored for the mailbox
        self.env["mail.mailbox.message"].sudo().create({"mailbox_id": mailbox.id, "message_key": "one-key"})
        mailbox.invalidate_recordset()
        self.assertEqual(mailbox.sync_progress_text, "1 message fetched, 23,000 still to fetch (newest first).")

    def test_reconnect_links_to_one_owner_say_one_owner(self):
        mailbox = self.connected()
        admin = self.env.ref("mail_connected_mailbox.mail_connected_mailbox_group_admin")
        self.user_ada.groups_id += admin
        action = mailbox.with_user(self.user_ada).action_bulk_send_links()
        self.assertEqual(action["params"]["message"], "1 owner got one message.")

    def test_paused_campaign_names_the_mailbox_and_the_cause(self):
        mailbox = self.connected()
        campaign = self.env["mailing.mailing"].create(
            {
                "subject": "Winter offer",
                "body_html": "<p>Offer</p>",
                "email_from": ALICE,
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(0, 0, {"name": "Leads", "contact_ids": [(0, 0, {"email": "x@customer.test"})]})],
                "state": "in_queue",
            }
        )
        mailbox.sudo()._set_secrets({"password": "changed-at-the-server"})
        mailbox.with_user(self.user_ann).action_check_now()
        self.assertEqual(campaign.state, "paused")
        self.assertIn("access to alice@mail.test was lost", campaign.mcm_pause_reason)
        self.assertIn("cause: ", campaign.mcm_pause_reason)
        self.assertIn("refused the login or password", campaign.mcm_pause_reason)

    def test_log_mode_is_not_read_as_signing_in(self):
        label = self.env["mail.mailbox"]._fields["log_mode"].string
        self.assertNotEqual(label, "Log in Odoo")
        self.assertIn("contacts and leads", label)
