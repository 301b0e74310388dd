"""My mail as a mail client a person trusts, against the real Dovecot: mail sent from
Odoo listed with its own date, sender and subject; star, read, delete and archive
changed on the server first; contacts and leads made after the sync get their past
mail."""

import importlib

from odoo.exceptions import AccessError
from odoo.modules.module import get_module_path
from odoo.tests import tagged

from ..mailbox_engine.imap import append_once
from .common import MailboxCase, StackMixin
from .test_sync import LeadMixin, ServerFoldersMixin, message
from .test_sync_archive import CarolsInboxMixin


def flags_on_server(imap, path):
    imap.select_folder(path, readonly=True)
    return [set(flags) for flags in imap.get_flags(imap.search(["ALL"])).values()]


@tagged("post_install", "-at_install")
class TestMyMail(LeadMixin, ServerFoldersMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def messages(self, mailbox):
        return (
            self.env["mail.mailbox.message"].with_context(active_test=False).search([("mailbox_id", "=", mailbox.id)])
        )

    def test_mail_sent_from_odoo_is_listed_with_its_own_date_sender_subject_body_and_record(self):
        sent = self.folder()
        mailbox = self.mailbox(sent)
        record = self.env["res.partner"].create({"name": "Customer", "email": "customer@customer.test"})
        posted = record.message_post(
            body="Our offer, in full",
            subject="Offer from Odoo",
            message_type="comment",
            author_id=self.user_ann.partner_id.id,
            partner_ids=record.ids,
        )
        append_once(self.imap, sent, message("Offer from Odoo", message_id=posted.message_id), posted.message_id)
        self.sync(mailbox)
        (row,) = self.messages(mailbox).with_user(self.user_ann)
        self.assertEqual(row.kind, "odoo")
        self.assertEqual((row.subject, row.date, row.display_name), ("Offer from Odoo", posted.date, "Offer from Odoo"))
        self.assertIn("ann@example.com", row.email_from)
        self.assertIn("customer@customer.test", row.email_to)
        self.assertIn("Our offer, in full", str(row.body))
        self.assertEqual(row._logged_records(), [record])  # the record it was sent from
        self.assertIn(f"/odoo/res.partner/{record.id}", str(row.logged_on))
        self.assertEqual(row.action_open_logged_record()["res_id"], record.id)
        # rows stored blank before this version are filled by the migration
        row.sudo().write({"subject": False, "date": False, "email_from": False, "html_source": False})
        path = get_module_path("mail_connected_mailbox") + "/migrations/18.0.1.5.0/post-migrate.py"
        spec = importlib.util.spec_from_file_location("mcm_post_migrate_1_5", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.1.4.0")
        row.invalidate_recordset()
        self.assertEqual((row.subject, row.date), ("Offer from Odoo", posted.date))
        self.assertIn("ann@example.com", row.email_from)

    def test_star_and_opening_change_the_server_first(self):
        path = self.folder((message("Offer"), 0))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        (row,) = self.messages(mailbox).with_user(self.user_ann)
        row.action_star()
        self.assertTrue(row.flagged)
        self.assertEqual(flags_on_server(self.imap, path), [{b"\\Flagged"}])
        self.sync(mailbox)  # the sync keeps it: the server has it
        row.invalidate_recordset()
        self.assertTrue(row.flagged)
        # a list reads nothing as read; opening the form does (on by default), the server first
        opening = row.with_context(mcm_open_marks_read=True)  # the context of My mail
        opening.web_search_read([("id", "=", row.id)], {"subject": {}})  # a list of this one message
        self.assertFalse(row.seen)
        opening.web_read({"subject": {}})
        self.assertTrue(row.seen)
        self.assertIn(b"\\Seen", flags_on_server(self.imap, path)[0])
        # Mark as unread on the form: the reload that follows keeps it unread, the next opening reads it
        opening.with_context(mcm_keep_unread=True).action_mark_unread()
        opening.web_read({"subject": {}})
        self.assertFalse(row.seen)
        self.assertNotIn(b"\\Seen", flags_on_server(self.imap, path)[0])
        opening.web_read({"subject": {}})
        self.assertTrue(row.seen)
        # the setting turned off: opening leaves it unread
        row.action_mark_unread()
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.mcm_mark_read_on_open)
        settings.mcm_mark_read_on_open = False
        settings.execute()
        opening.web_read({"subject": {}})
        self.assertFalse(row.seen)
        self.assertFalse(self.env["res.config.settings"].create({}).mcm_mark_read_on_open)

    def test_delete_says_where_the_copy_goes_and_sync_never_brings_it_back(self):
        path = self.folder((message("Hide me"), 0), (message("Trash me"), 0), (message("Keep me"), 0))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        rows = {m.subject: m for m in self.messages(mailbox)}
        Wizard = self.env["mail.mailbox.message.delete.wizard"].with_user(self.user_ann)
        # the mailbox keeps its copy: said, and done
        wizard = Wizard.with_context(active_model="mail.mailbox.message", active_ids=rows["Hide me"].ids).create({})
        self.assertIn("hidden in Odoo only, the mailbox keeps its copy", str(wizard.summary))
        self.assertEqual(wizard.action_delete(), {"type": "ir.actions.act_window_close"})
        self.assertFalse(rows["Hide me"].exists())
        self.imap.select_folder(path, readonly=True)
        self.assertEqual(len(self.imap.search(["ALL"])), 3)
        # the mailbox deletes too: said, and moved to its Trash; from the form, back to My mail
        mailbox.delete_on_server = True
        trash = mailbox.folder_ids.filtered(lambda f: f.special_use == "\\Trash").path
        wizard = Wizard.with_context(active_model="mail.mailbox.message", active_ids=rows["Keep me"].ids).create({})
        self.assertIn("also deleted in the mailbox (moved to its Trash", str(wizard.summary))
        action = rows["Trash me"].with_user(self.user_ann).with_context(mcm_from_form=True).action_delete()
        self.assertEqual((action["res_model"], action["target"]), ("mail.mailbox.message", "main"))
        self.assertFalse(rows["Trash me"].exists())
        self.imap.select_folder(path)
        self.assertEqual(len(self.imap.search(["ALL"])), 2)
        self.imap.select_folder(trash, readonly=True)
        self.assertTrue(self.imap.search(["SUBJECT", "Trash me"]))
        # the whole window fetched again (Enable): the hidden one stays out
        mailbox._schedule_sync(reset=True)
        self.sync(mailbox)
        self.assertEqual(sorted(self.messages(mailbox).mapped("subject")), ["Keep me"])
        # another salesperson deletes nothing of Ann's
        with self.assertRaises(AccessError):
            Wizard.with_user(self.user_ben).with_context(
                active_model="mail.mailbox.message", active_ids=rows["Keep me"].ids
            ).create({})
        self.assertTrue(rows["Keep me"].exists())

    def test_contacts_and_leads_made_after_the_sync_get_their_past_mail(self):
        path = self.folder(
            (message("Before we met", 3, sender="Newbie <newbie@customer.test>"), 3),
            (message("Old news", 20, sender="newbie@customer.test"), 20),
            (message("To someone else", 1, sender="other@customer.test"), 1),
        )
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        mailbox.backfill_days = 10  # "Old news" is outside the window now
        partner = (
            self.env["res.partner"].with_user(self.user_ann).create({"name": "Newbie", "email": "newbie@customer.test"})
        )
        self.assertEqual(self.logged(partner).mapped("subject"), ["Before we met"])
        lead = (
            self.env["crm.lead"]
            .with_user(self.user_ann)
            .create({"name": "New deal", "email_from": "newbie@customer.test"})
        )
        self.assertEqual(self.logged(lead).mapped("subject"), ["Before we met"])
        self.assertEqual(self.logged(lead).author_id, partner)  # from the contact, as new mail is
        # Log past mail: nothing twice
        action = partner.with_user(self.user_ann).action_mcm_log_past_mail()
        self.assertIn("0 synced messages were logged", action["params"]["message"])
        self.assertEqual(len(self.logged(partner)), 1)
        # the button catches up a record made before (when the mailbox did not log)
        mailbox.log_mode = "none"
        late = self.env["res.partner"].create({"name": "Other", "email": "other@customer.test"})
        self.assertFalse(self.logged(late))
        mailbox.log_mode = "known"
        action = late.with_user(self.user_ann).action_mcm_log_past_mail()
        self.assertIn("1 synced messages were logged", action["params"]["message"])
        self.assertEqual(self.logged(late).mapped("subject"), ["To someone else"])
        # excluded addresses stay excluded
        mailbox.log_exclude = "customer.test"
        excluded = self.env["res.partner"].create({"name": "Excluded", "email": "newbie@customer.test"})
        self.assertFalse(self.logged(excluded))

    def test_past_mail_is_never_logged_on_a_lead_the_owner_cannot_read(self):
        path = self.folder((message("Hello", 1, sender="secret@customer.test"), 1))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        self.user_ann.groups_id -= self.env.ref("sales_team.group_sale_salesman_all_leads")
        self.user_ann.groups_id -= self.env.ref("sales_team.group_sale_salesman")
        lead = self.env["crm.lead"].create({"name": "Secret deal", "email_from": "secret@customer.test"})
        self.assertFalse(lead.with_user(self.user_ann).has_access("read"))
        self.assertFalse(self.logged(lead))


@tagged("post_install", "-at_install")
class TestMyMailArchive(CarolsInboxMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def test_archive_and_restore_show_the_new_folder_at_once(self):
        key = self.put("Move me", "INBOX")
        mailbox = self.mailbox()
        mailbox.archive_on_server = True
        self.sync(mailbox)
        row = self.stored(mailbox)["Move me"].with_user(self.user_ann)
        self.assertEqual(row.folder_names, "Inbox")
        row.action_archive()
        self.assertEqual(self.where(key), {"Archive": 1})
        self.assertEqual(row.folder_names, "Archive")  # before any sync
        groups = row.with_context(active_test=False).read_group([("id", "=", row.id)], ["folder_ids"], ["folder_ids"])
        self.assertEqual([g["folder_ids"][1] for g in groups], ["Archive"])  # Group by folder
        row.action_unarchive()
        self.assertEqual(self.where(key), {"INBOX": 1})
        self.assertEqual(row.folder_names, "Inbox")
        self.sync(mailbox)  # the sync finds the same places: none twice
        self.assertEqual(len(row.sudo().place_ids), 1)
        self.assertEqual(row.folder_names, "Inbox")
