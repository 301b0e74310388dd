"""*All new mail*: the owner who asks is told of each new message of her Inbox, with a link
that opens it in My mail, against the real Dovecot (Carol's own Inbox); only news, never
twice, one notification for many at once."""

import importlib.util
import os
from datetime import UTC, datetime, timedelta

from odoo.tests import tagged

from .common import MailboxCase, StackMixin
from .test_sync import LeadMixin, message
from .test_sync_archive import CAROL, CarolsInboxMixin

MY_MAIL = "/odoo/action-mail_connected_mailbox.mail_mailbox_message_action_my"


@tagged("post_install", "-at_install")
class TestNotifyAllMail(LeadMixin, CarolsInboxMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def setUp(self):
        super().setUp()
        self.user_ann.with_user(self.user_ann).write({"mcm_mail_notify": "all"})  # from Preferences
        self.arrive("Before", sender="olga@elsewhere.test")
        self.box = self.mailbox()
        self.sync(self.box)  # the first sync: past mail, not news

    def arrive(self, subject, path="INBOX", days_ago=0, flags=(), **headers):
        raw = message(subject, days_ago=days_ago, to=CAROL, **headers)
        self.imap.append(path, raw, flags=flags, msg_time=datetime.now(UTC) - timedelta(days=days_ago))

    def told(self, model="mail.mailbox"):
        return self.env["mail.message"].search(
            [
                ("partner_ids", "in", self.user_ann.partner_id.ids),
                ("message_type", "=", "user_notification"),
                ("model", "=", model),
            ],
            order="id",
        )

    def synced(self, subject):
        return self.env["mail.mailbox.message"].search([("mailbox_id", "=", self.box.id), ("subject", "=", subject)])

    def test_each_new_message_of_the_inbox_is_told_with_a_link_that_opens_it(self):
        self.assertFalse(self.told())  # nothing at the first sync
        self.arrive("Fresh question", sender="Olga <olga@elsewhere.test>")
        self.arrive("Read on the phone", sender="olga@elsewhere.test", flags=[b"\\Seen"])
        self.arrive("Sent by me", sender=CAROL)
        self.arrive("Delivered late", days_ago=2, sender="olga@elsewhere.test")
        self.arrive("Filed away", path="Archive", sender="olga@elsewhere.test")
        self.sync(self.box)
        self.assertEqual(len(self.synced("Filed away")), 1)  # synced, yet not in the Inbox
        (told,) = self.told()
        fresh = self.synced("Fresh question")
        self.assertEqual((told.model, told.res_id), ("mail.mailbox", self.box.id))
        self.assertIn("Fresh question", told.subject)
        self.assertIn("olga@elsewhere.test", str(told.body))
        self.assertIn(f"{MY_MAIL}/{fresh.id}", str(told.body))
        self.sync(self.box)  # nothing new: nothing more
        self.assertEqual(len(self.told()), 1)

    def test_mail_from_a_lead_is_told_once_on_the_lead(self):
        self.arrive("About the deal")  # from lead@customer.test: logged on the lead
        self.sync(self.box)
        (on_lead,) = self.told("crm.lead")
        self.assertEqual(on_lead.res_id, self.lead.id)
        self.assertFalse(self.told())

    def test_many_new_messages_are_told_in_one_notification(self):
        for n in range(7):
            self.arrive(f"Newsletter {n}", sender=f"news{n}@elsewhere.test")
        self.sync(self.box)
        (told,) = self.told()
        self.assertIn("7 new messages in My mail", told.subject)
        self.assertIn(f'href="{MY_MAIL}"', str(told.body).replace("'", '"'))

    def test_odoo_s_own_notification_coming_back_is_not_news(self):
        # a notification Odoo mailed to the owner lands in the Inbox: never told again (no loop)
        self.box.message_notify(partner_ids=self.user_ann.partner_id.ids, subject="Odoo's notice", body="Hi")
        notice = self.told()
        self.arrive("Odoo's notice", sender="OdooBot <odoobot@example.com>", message_id=notice.message_id)
        self.arrive("Real news", sender="olga@elsewhere.test")
        self.sync(self.box)
        self.assertEqual(len(self.synced("Odoo's notice")), 1)
        self.assertEqual([m.subject for m in self.told() - notice], ["New mail: Real news"])

    def test_only_mail_from_contacts_and_leads_when_asked_for_that_alone(self):
        self.user_ann.with_user(self.user_ann).write({"mcm_mail_notify": "known"})
        self.arrive("Fresh question", sender="olga@elsewhere.test")
        self.arrive("About the deal")
        self.sync(self.box)
        self.assertFalse(self.told())
        self.assertEqual(len(self.told("crm.lead")), 1)

    def test_the_old_switch_reads_and_writes_the_choice(self):
        user = self.user_ann.with_user(self.user_ann)
        self.assertTrue(user.mcm_new_mail_notify)  # all new mail takes in contacts and leads
        user.write({"mcm_new_mail_notify": False})
        self.assertEqual(user.mcm_mail_notify, "none")
        user.write({"mcm_new_mail_notify": True})
        self.assertEqual(user.mcm_mail_notify, "known")

    def test_the_migration_keeps_telling_those_who_asked(self):
        cr = self.env.cr
        self.env.flush_all()
        cr.execute("ALTER TABLE res_users ADD COLUMN mcm_new_mail_notify boolean")
        cr.execute("UPDATE res_users SET mcm_new_mail_notify = (id = %s)", [self.user_ben.id])
        cr.execute("UPDATE res_users SET mcm_mail_notify = 'none'")
        path = os.path.join(os.path.dirname(__file__), "..", "migrations", "18.0.1.6.0", "post-migrate.py")
        spec = importlib.util.spec_from_file_location("mcm_post_migrate_1_6", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.migrate(cr, "18.0.1.5.0")
        self.env["res.users"].invalidate_model(["mcm_mail_notify", "mcm_new_mail_notify"])
        self.assertEqual((self.user_ben.mcm_mail_notify, self.user_ann.mcm_mail_notify), ("known", "none"))
        cr.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'res_users' AND column_name = %s",
            ["mcm_new_mail_notify"],
        )
        self.assertFalse(cr.fetchall())  # the old column is gone
