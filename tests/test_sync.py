"""The sync in Odoo against the real Dovecot: each test syncs folders of its own, made on
Bob's account, and compares what the server has with what Odoo stores."""

import secrets
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from imapclient import IMAPClient

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from ..devstack.testkit import connect_oauth, server_message_ids
from ..mailbox_engine.imap import append_once
from .common import MailboxCase, StackHttpMixin, StackMixin, flip, sync_until_done

BOB = "bob@mail.test"
PARAM = "mail_connected_mailbox."


def message(subject, days_ago=0, size=0, message_id=None, attachment=None, **headers):
    msg = EmailMessage()
    msg["From"] = headers.pop("sender", "Lead <lead@customer.test>")
    msg["To"] = headers.pop("to", BOB)
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg["Subject"] = subject
    msg["Date"] = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg["Message-ID"] = message_id or f"<{secrets.token_hex(8)}@customer.test>"
    msg.set_content("Hello " + "x" * size)
    if attachment:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="offer.pdf")
    return msg.as_bytes()


class ServerFoldersMixin:
    """Folders of Bob's account made for one test (removed afterwards), and his mailbox
    connected in Odoo syncing exactly them."""

    def setUp(self):
        super().setUp()
        self.imap = IMAPClient(self.stack["host"], port=self.imap_port, ssl=False, timeout=10)
        self.imap.login(BOB, self.stack["accounts"][BOB])
        self.made = []
        self.addCleanup(self.cleanup)

    def cleanup(self):
        self.imap.select_folder("INBOX", readonly=True)  # deleting the selected folder ends the session
        for path in self.made:
            if self.imap.folder_exists(path):
                self.imap.delete_folder(path)
        self.imap.logout()

    def folder(self, *messages):
        path = "Sync-" + secrets.token_hex(3)
        self.imap.create_folder(path)
        self.made.append(path)
        for raw, days in messages:
            self.imap.append(path, raw, msg_time=datetime.now(UTC) - timedelta(days=days))
        return path

    def mailbox(self, *paths):
        """Bob's mailbox, connected, syncing exactly ``paths``."""
        mailbox = self.env["mail.mailbox"].with_user(self.user_ann).create(self.custom_values(BOB))
        mailbox.action_connect()
        self.assertEqual(mailbox.state, "connected")
        for folder in mailbox.folder_ids:
            folder.selected = folder.path in paths
        return mailbox.sudo()

    def sync(self, mailbox, rounds=20):
        return sync_until_done(mailbox, rounds)


class LeadMixin:
    """Ann a salesperson who sees every lead, and an open lead from lead@customer.test."""

    def setUp(self):
        super().setUp()
        self.user_ann.groups_id += self.env.ref("sales_team.group_sale_salesman_all_leads")
        self.lead = self.env["crm.lead"].create({"name": "Spring deal", "email_from": "lead@customer.test"})

    def logged(self, record, subject=None):
        """The copies of synced messages in ``record``'s chatter (with ``subject``)."""
        domain = [("model", "=", record._name), ("res_id", "=", record.id), ("mcm_message_id", "!=", False)]
        if subject:
            domain.append(("subject", "=", subject))
        return self.env["mail.message"].search(domain)


@tagged("post_install", "-at_install")
class TestSync(ServerFoldersMixin, StackMixin, MailboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def server_keys(self, path):
        return server_message_ids(self.imap, path)

    def odoo_keys(self, mailbox, path):
        places = self.env["mail.mailbox.message.place"].search(
            [("folder_id.mailbox_id", "=", mailbox.id), ("folder_id.path", "=", path)]
        )
        return sorted(place.message_id.message_id_header for place in places)  # one per place

    def messages(self, mailbox):
        return self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)])

    def test_backfill_keeps_the_window_and_the_folder_choice_and_bad_input_is_recorded(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "max_message_mb", "0.02")  # 20 KB
        lying = message("lying charset").replace(b'charset="utf-8"', b'charset="klingon-8"')
        no_id = b"From: lead@customer.test\r\nTo: bob@mail.test\r\nSubject: no id\r\n\r\nbody\r\n"
        broken = b"From: lead@customer.test\r\nSubject: broken\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n"
        eight_bit = "From: Zoë <zoe@customer.test>\r\nSubject: Réunion à Zürich\r\n\r\nbody\r\n".encode()
        twin = "<same-id@customer.test>"
        synced = self.folder(
            (message("new", 1), 1),
            (message("with attachment", 3, attachment=b"%PDF-1.4 offer"), 3),
            (message("old", 90), 90),
            (message("big", 0, size=40_000), 0),
            (lying, 2),
            (no_id, 2),
            (broken, 2),
            (eight_bit, 2),
            (message("first twin", 4, message_id=twin), 4),
            (message("second twin", 4, message_id=twin), 4),
        )
        ignored = self.folder((message("not chosen"), 0))
        mailbox = self.mailbox(synced)
        self.sync(mailbox)
        messages = self.messages(mailbox)
        self.assertEqual(
            sorted(m.subject or "" for m in messages),
            sorted(
                ["new", "with attachment", "lying charset", "no id", "broken", "Réunion à Zürich", "second twin", "big"]
            ),
        )
        big = messages.filtered(lambda m: m.kind == "placeholder")
        self.assertIn("size limit", big.problem)
        self.assertIn("klingon-8", messages.filtered(lambda m: m.subject == "lying charset").problem)
        with_file = messages.filtered(lambda m: m.subject == "with attachment")
        self.assertEqual(with_file.attachment_ids.mapped("name"), ["offer.pdf"])
        self.assertEqual(with_file.attachment_ids.raw, b"%PDF-1.4 offer")
        self.assertFalse(self.odoo_keys(mailbox, ignored))
        # every message of the window has its place (the old one is outside it); the two
        # carrying one Message-ID are one message, stored once, in two places
        self.assertEqual(len(self.odoo_keys(mailbox, synced)), 9)
        self.assertEqual(self.odoo_keys(mailbox, synced).count("<same-id@customer.test>"), 2)
        self.assertEqual(
            messages.filtered(lambda m: m.subject == "Réunion à Zürich").email_from, "Zoë <zoe@customer.test>"
        )
        self.assertTrue(mailbox.last_sync_date)
        # the big one on demand; a server that refuses it says why on the mailbox, not only in a toast
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "max_message_mb", "25")
        password = mailbox._get_secret("password")
        mailbox._set_secrets({"password": "changed-on-the-server"})
        action = big.with_user(self.user_ann).action_fetch_body()
        self.assertEqual((action["params"]["type"], big.kind), ("danger", "placeholder"))
        self.assertEqual(mailbox.state, "auth_lost")
        mailbox._set_secrets({"password": password})
        mailbox._set_state("connected")
        big.with_user(self.user_ann).action_fetch_body()
        self.assertEqual((big.kind, big.subject), ("stored", "big"))
        # a second sync finds nothing new: nothing is stored twice
        count = len(messages)
        self.sync(mailbox)
        self.assertEqual(len(self.messages(mailbox)), count)

    def test_flags_moves_and_deletions_on_the_server_reach_odoo(self):
        inbox = self.folder(*[(message(f"m{n}"), 0) for n in range(4)])
        archive = self.folder()
        mailbox = self.mailbox(inbox, archive)
        self.sync(mailbox)
        self.imap.select_folder(inbox)
        uids = sorted(self.imap.search(["ALL"]))
        self.imap.add_flags(uids[0], [b"\\Seen"])
        self.imap.move(uids[1], archive)
        self.imap.delete_messages(uids[2])
        self.imap.expunge()
        for folder in mailbox.folder_ids:  # the deep scan is due
            if folder.sync_state:
                folder.sync_state = {**folder.sync_state, "last_deep_scan": 0}
        self.sync(mailbox)
        self.assertEqual(self.odoo_keys(mailbox, inbox), self.server_keys(inbox))
        self.assertEqual(self.odoo_keys(mailbox, archive), self.server_keys(archive))
        messages = self.messages(mailbox)
        self.assertEqual(len(messages), 4)  # the moved one is the same message, in another folder
        self.assertEqual(len(messages.filtered("seen")), 1)
        self.assertEqual(len(messages.filtered(lambda m: not m.on_server)), 1)  # the deleted one

    def test_a_folder_deleted_on_the_server_is_said_on_it_and_the_others_go_on(self):
        gone = self.folder((message("a"), 0))
        kept = self.folder((message("b"), 0))
        mailbox = self.mailbox(gone, kept)
        self.imap.delete_folder(gone)
        self.sync(mailbox)
        folders = {f.path: f for f in mailbox.folder_ids}
        self.assertIn("refused to open it", folders[gone].sync_problem)
        self.assertFalse(folders[kept].sync_problem)
        self.assertEqual(self.messages(mailbox).mapped("subject"), ["b"])

    def test_folders_are_listed_again_on_demand(self):
        mailbox = self.mailbox()
        path = self.folder()
        self.assertNotIn(path, mailbox.folder_ids.mapped("path"))
        action = mailbox.with_user(self.user_ann).action_refresh_folders()
        self.assertEqual(action["params"]["type"], "success")
        added = mailbox.folder_ids.filtered(lambda f: f.path == path)
        self.assertTrue(added.present)
        self.assertFalse(added.selected)  # a new folder is not synced until chosen
        self.imap.delete_folder(path)
        mailbox.with_user(self.user_ann).action_refresh_folders()
        self.assertFalse(added.present)

    def test_a_renumbered_folder_leaves_no_duplicate_and_no_gap(self):
        raws = [message(f"m{n}", n) for n in range(6)]
        path = self.folder(*[(raw, n) for n, raw in enumerate(raws)])
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        ids = self.messages(mailbox).ids
        self.imap.delete_folder(path)  # a new UIDVALIDITY, the same messages but the last one
        self.imap.create_folder(path)
        for n, raw in enumerate(raws[:-1]):
            self.imap.append(path, raw, msg_time=datetime.now(UTC) - timedelta(days=n))
        self.sync(mailbox)
        self.assertEqual(self.messages(mailbox).ids, ids)  # nothing stored again
        self.assertEqual(self.odoo_keys(mailbox, path), self.server_keys(path))
        folder = mailbox.folder_ids.filtered(lambda f: f.path == path)
        folder.sync_state = {**folder.sync_state, "last_deep_scan": 0}  # the next deep scan is due
        self.sync(mailbox)
        gone = self.messages(mailbox).filtered(lambda m: not m.on_server)
        self.assertEqual(gone.subject, "m5")  # the one the server did not give back

    def test_a_budget_spreads_the_backfill_over_rounds_newest_first(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "sync_budget", "200")
        path = self.folder(*[(message(f"m{n}", n % 30), n % 30) for n in range(450)])
        mailbox = self.mailbox(path)
        self.assertEqual(self.sync(mailbox), 3)  # 200 + 200 + 50
        self.assertEqual(self.odoo_keys(mailbox, path), self.server_keys(path))
        self.assertEqual(len(self.messages(mailbox)), 450)

    def test_sync_now_shows_progress_and_a_lost_password_goes_to_the_status(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "sync_budget", "10")
        path = self.folder(*[(message(f"m{n}"), 0) for n in range(25)])
        mailbox = self.mailbox(path)
        action = mailbox.with_user(self.user_ann).action_sync_now()
        self.assertIn("15 still to fetch", action["params"]["message"])
        self.assertEqual((mailbox.sync_fetched, mailbox.sync_remaining), (10, 15))
        # the password changes on the server side: the sync hands it to the status owner
        mailbox._set_secrets({"password": "not-any-more"})
        mailbox._claim_sync(ids=mailbox.ids, limit=1)._sync_round()
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("refused the login or password", mailbox.last_error_cause)
        self.assertEqual(len(self.messages(mailbox)), 10)  # what was fetched stays

    def test_only_the_owner_and_administrators_read_a_mailbox_s_messages(self):
        path = self.folder((message("private", 0, attachment=b"%PDF secret"), 0))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        (stored,) = self.messages(mailbox)
        self.assertEqual(stored.with_user(self.user_ann).subject, "private")
        self.assertEqual(stored.with_user(self.user_ada).subject, "private")
        Messages = self.env["mail.mailbox.message"].with_user(self.user_ben)
        self.assertFalse(Messages.search([]))
        with self.assertRaises(AccessError):
            Messages.browse(stored.id).read(["subject"])
        with self.assertRaises(AccessError):
            self.env["ir.attachment"].with_user(self.user_ben).browse(stored.attachment_ids.id).read(["raw"])
        with self.assertRaises(AccessError):
            stored.with_user(self.user_ben).action_fetch_body()
        with self.assertRaises(AccessError):  # synced data is Odoo's: nobody writes it over RPC
            stored.with_user(self.user_ann).write({"subject": "changed"})
        self.assertFalse(self.env["mail.mailbox.message.place"].with_user(self.user_ben).search([]))

    def test_a_token_revoked_between_two_syncs_goes_to_the_health_check(self):
        address = "sync-revoked@gmail.test"
        mailbox = connect_oauth(self.env(user=self.user_ann), self.stack, "google", address).sudo()
        self.sync(mailbox)  # XOAUTH2 with the stored token, Inbox and Sent: nothing to fetch
        self.assertFalse(mailbox.sync_problem)
        flip(self.stack, "revoke", email=address)
        self.addCleanup(flip, self.stack, "reset")
        mailbox._claim_sync(ids=mailbox.ids, limit=1)._sync_round()
        mailbox.invalidate_recordset()
        # the sync does not decide: the health check looks at once and refreshes the token
        self.assertEqual(mailbox.state, "connected")
        self.assertTrue(mailbox.sync_problem)
        self.assertLessEqual(mailbox.next_check_at, fields.Datetime.now() + timedelta(seconds=61))
        mailbox.write({"next_check_at": fields.Datetime.now()})
        self.env["mail.mailbox"]._cron_check_health()
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertFalse(mailbox._claim_sync(ids=mailbox.ids, limit=1))  # no sync while access is lost

    def test_html_is_shown_sanitized_with_remote_images_held_back(self):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "lead@customer.test", BOB, "Tracked"
        msg["Message-ID"] = f"<{secrets.token_hex(8)}@customer.test>"
        msg.set_content("plain")
        msg.add_alternative(
            "<p onclick='steal()'>Hi<script>steal()</script></p>"
            "<img src='https://tracker.example/pixel.gif' width='1'><a href='javascript:steal()'>x</a>",
            subtype="html",
        )
        path = self.folder((msg.as_bytes(), 0))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        (stored,) = self.messages(mailbox).with_user(self.user_ann)
        body = str(stored.body)
        for unsafe in ("<script", "onclick", "javascript:", ' src="https://tracker.example'):
            self.assertNotIn(unsafe, body)
        self.assertIn("Hi", body)
        self.assertEqual(stored.blocked_images, 1)
        self.assertIn("<script>", stored.sudo().html_source)  # kept as received, never shown as is
        stored.action_show_images()
        self.assertIn('src="https://tracker.example/pixel.gif"', str(stored.body))
        self.assertEqual(stored.blocked_images, 0)
        # the owner's own mail, and only theirs, in My mail
        action = self.env.ref("mail_connected_mailbox.mail_mailbox_message_action_my")
        domain = [("user_id", "=", self.user_ann.id)]
        self.assertEqual(action.domain, "[('user_id', '=', uid)]")
        self.assertIn(stored, self.env["mail.mailbox.message"].with_user(self.user_ann).search(domain))

    def test_read_unread_and_starred_set_in_odoo_reach_the_server(self):
        inbox = self.folder((message("Offer"), 0))
        archive = self.folder()
        mailbox = self.mailbox(inbox, archive)
        self.imap.select_folder(inbox)
        self.imap.copy(self.imap.search(["ALL"]), archive)  # the same message in two folders
        self.sync(mailbox)
        (stored,) = self.messages(mailbox).with_user(self.user_ann)
        self.assertEqual(len(stored.sudo().place_ids), 2)

        def seen_on_server(flag=b"\\Seen"):
            found = []
            for path in (inbox, archive):
                self.imap.select_folder(path, readonly=True)
                flags = self.imap.get_flags(self.imap.search(["ALL"]))
                found += [flag in value for value in flags.values()]
            return found

        self.assertEqual(seen_on_server(), [False, False])
        stored.action_mark_read()
        self.assertEqual((stored.seen, seen_on_server()), (True, [True, True]))
        stored.action_mark_unread()
        self.assertEqual((stored.seen, seen_on_server()), (False, [False, False]))
        stored.action_star()
        self.assertEqual((stored.flagged, seen_on_server(b"\\Flagged")), (True, [True, True]))
        self.assertEqual(seen_on_server(), [False, False])  # starring reads nothing
        stored.action_unstar()
        self.assertEqual((stored.flagged, seen_on_server(b"\\Flagged")), (False, [False, False]))
        # and a change made elsewhere comes back by the sync (CONDSTORE)
        self.imap.select_folder(inbox)
        self.imap.add_flags(self.imap.search(["ALL"]), [b"\\Seen"])
        self.sync(mailbox)
        stored.invalidate_recordset()
        self.assertTrue(stored.seen)
        with self.assertRaises(AccessError):
            stored.with_user(self.user_ben).action_mark_read()
        mailbox._set_secrets({"password": "changed-on-the-server"})
        action = stored.action_mark_unread()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("did not take the change", action["params"]["message"])
        self.assertTrue(stored.seen)  # the server refused: nothing changed in Odoo
        self.assertEqual(mailbox.state, "auth_lost")  # and the mailbox says why, not only the notification

    def test_deletions_both_ways_follow_the_mailbox_s_switches(self):
        inbox = self.folder((message("keep"), 0), (message("gone on the server"), 0), (message("delete in Odoo"), 0))
        mailbox = self.mailbox(inbox)
        mailbox.write({"delete_in_odoo": True, "delete_on_server": True})
        self.sync(mailbox)
        by_subject = {m.subject: m for m in self.messages(mailbox)}
        # deleted on the server: deleted in Odoo at the next deep scan
        self.imap.select_folder(inbox)
        uids = sorted(self.imap.search(["ALL"]))
        self.imap.delete_messages(uids[1])
        self.imap.expunge()
        folder = mailbox.folder_ids.filtered(lambda f: f.path == inbox)
        folder.sync_state = {**folder.sync_state, "last_deep_scan": 0}
        self.sync(mailbox)
        self.assertFalse(by_subject["gone on the server"].on_server)  # found gone once: marked
        self.assertTrue(by_subject["gone on the server"].exists())
        self.sync(mailbox)  # gone at two complete runs in a row: deleted
        self.assertFalse(by_subject["gone on the server"].exists())
        # deleted in Odoo: moved to the mailbox's Trash
        trash = mailbox.folder_ids.filtered(lambda f: f.special_use == "\\Trash").path
        before = len(self.server_keys(trash))
        by_subject["delete in Odoo"].with_user(self.user_ann).action_delete()
        self.assertFalse(by_subject["delete in Odoo"].exists())
        self.assertEqual(len(self.server_keys(inbox)), 1)
        self.assertEqual(len(self.server_keys(trash)), before + 1)
        self.assertTrue(by_subject["keep"].exists())
        with self.assertRaises(AccessError):
            by_subject["keep"].with_user(self.user_ben).action_delete()
        # switch off: deleted on the server stays in Odoo, marked as gone
        mailbox.write({"delete_in_odoo": False, "delete_on_server": False})
        self.imap.select_folder(inbox)
        self.imap.delete_messages(self.imap.search(["ALL"]))
        self.imap.expunge()
        folder.sync_state = {**folder.sync_state, "last_deep_scan": 0}
        self.sync(mailbox)
        self.assertFalse(by_subject["keep"].on_server)

    def test_a_message_opens_with_its_conversation(self):
        key = f"<{secrets.token_hex(8)}@customer.test>"
        first = message("Offer", 2, message_id=key)
        reply = message("Re: Offer", 1, In_Reply_To=key, References=key)
        path = self.folder((first, 2), (reply, 1), (message("Unrelated", 0), 0))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        by_subject = {m.subject: m for m in self.messages(mailbox)}
        conversation = by_subject["Offer"].with_user(self.user_ann).thread_ids
        self.assertEqual(conversation.mapped("subject"), ["Offer", "Re: Offer"])  # oldest first
        self.assertEqual(by_subject["Re: Offer"].thread_ids, conversation)
        self.assertEqual(by_subject["Unrelated"].thread_ids, by_subject["Unrelated"])

    def test_mail_sent_from_odoo_comes_back_in_sent_and_is_not_stored_twice(self):
        sent = self.folder()
        mailbox = self.mailbox(sent)
        record = self.env["res.partner"].create({"name": "Lead", "email": "lead@customer.test"})
        posted = record.message_post(
            body="Our offer", subject="Offer", message_type="comment", author_id=self.user_ann.partner_id.id
        )
        # a reply that reached Odoo through its own mail gateway is still the owner's mail to fetch
        received = self.env["mail.message"].create(
            {
                "model": "res.partner",
                "res_id": record.id,
                "message_type": "email",
                "author_id": record.id,
                "body": "Thanks",
                "message_id": f"<{secrets.token_hex(8)}@customer.test>",
            }
        )
        self.imap.select_folder(sent)
        append_once(self.imap, sent, message("Offer", message_id=posted.message_id), posted.message_id)
        append_once(self.imap, sent, message("Re: Offer", message_id=received.message_id), received.message_id)
        self.sync(mailbox)
        by_kind = {m.kind: m for m in self.messages(mailbox)}
        self.assertEqual(set(by_kind), {"odoo", "stored"})
        self.assertEqual(by_kind["odoo"].mail_message_id, posted)
        self.assertFalse(by_kind["odoo"].body_text)  # not fetched, not stored again
        self.assertEqual(by_kind["stored"].subject, "Re: Offer")


@tagged("post_install", "-at_install")
class TestSyncLogging(LeadMixin, ServerFoldersMixin, StackMixin, MailboxCase):
    """Synced mail in the chatter of contacts and leads (sync rounds as the cron runs them)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_stack(cls.env)

    def test_a_message_from_a_lead_is_logged_once_without_notifying_and_exclusions_hold(self):
        colleague = self.env["res.partner"].create({"name": "Colleague", "email": "pat@company.test"})
        path = self.folder(
            (message("Question about the offer"), 0),
            (message("Lunch?", sender="pat@company.test"), 0),
        )
        mailbox = self.mailbox(path)
        mailbox.log_exclude = "company.test"
        followers = self.lead.message_partner_ids
        self.sync(mailbox)
        (copy,) = self.logged(self.lead)
        self.assertEqual((copy.message_type, copy.subject), ("email", "Question about the offer"))
        self.assertEqual(copy.subtype_id, self.env.ref("mail.mt_note"))
        self.assertFalse(copy.notification_ids)  # nobody notified
        self.assertEqual(self.lead.message_partner_ids, followers)  # nobody subscribed
        self.assertFalse(self.logged(colleague))  # an excluded domain
        stored = copy.mcm_message_id
        self.assertTrue(stored.logged)
        self.assertIn(f"/odoo/crm.lead/{self.lead.id}", str(stored.with_user(self.user_ann).logged_on))
        # Enable fetches the window again: still once
        mailbox._schedule_sync(reset=True)
        self.sync(mailbox)
        self.assertEqual(len(self.logged(self.lead)), 1)

    def test_a_reply_to_mail_sent_from_odoo_threads_under_it_and_sent_mail_from_another_client_is_logged(self):
        sent_from_odoo = self.lead.message_post(
            body="Our offer", subject="Offer", message_type="comment", author_id=self.user_ann.partner_id.id
        )
        inbox = self.folder(
            # from an address Odoo does not know: it goes under the message it answers
            (message("Re: Offer", sender="boss@customer-hq.test", In_Reply_To=sent_from_odoo.message_id), 0),
        )
        sent = self.folder((message("From my phone", sender=BOB, to="lead@customer.test"), 0))  # another client
        mailbox = self.mailbox(inbox, sent)
        mailbox.log_mode = "replies"
        self.sync(mailbox)
        (reply,) = self.logged(self.lead, "Re: Offer")
        self.assertEqual(reply.parent_id, sent_from_odoo)
        self.assertFalse(self.logged(self.lead, "From my phone"))  # only replies, in this mode
        mailbox.log_mode = "known"
        mailbox._schedule_sync(reset=True)
        self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)]).unlink()
        self.sync(mailbox)
        self.assertEqual(len(self.logged(self.lead, "From my phone")), 1)
        replies = self.lead.message_ids.filtered(lambda m: m.subject == "Re: Offer")
        self.assertEqual(len(replies), 1)  # not twice (its first copy outlived the synced message)

    def test_nothing_is_logged_on_a_lead_the_owner_cannot_see(self):
        self.user_ann.groups_id -= self.env.ref("sales_team.group_sale_salesman_all_leads")
        self.user_ann.groups_id -= self.env.ref("sales_team.group_sale_salesman")
        self.assertFalse(self.lead.with_user(self.user_ann).has_access("read"))
        path = self.folder((message("Hello"), 0))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        self.assertFalse(self.logged(self.lead))

    def test_the_owner_who_asked_is_told_of_new_mail_with_a_link_to_the_lead(self):
        self.user_ann.with_user(self.user_ann).write({"mcm_new_mail_notify": True})  # from Preferences
        path = self.folder((message("Question about the offer"), 0), (message("Old news"), 1))
        mailbox = self.mailbox(path)
        self.imap.select_folder(path)
        self.imap.add_flags(max(self.imap.search(["ALL"])), [b"\\Seen"])  # "Old news": read elsewhere
        self.sync(mailbox)
        told = self.env["mail.message"].search(
            [("partner_ids", "in", self.user_ann.partner_id.ids), ("message_type", "=", "user_notification")]
        )
        self.assertEqual(len(told), 1)  # not for the one already read
        self.assertEqual((told.model, told.res_id), ("crm.lead", self.lead.id))
        self.assertIn("Question about the offer", str(told.body))

    def test_disconnect_says_what_it_removes_then_removes_it_chatter_copies_included(self):
        path = self.folder((message("Question", attachment=b"%PDF offer"), 0))
        mailbox = self.mailbox(path)
        self.sync(mailbox)
        self.assertEqual(len(self.logged(self.lead)), 1)
        wizard = (
            self.env["mail.mailbox.disconnect.wizard"]
            .with_user(self.user_ann)
            .create({"mailbox_id": mailbox.id, "synced_data": "delete"})
        )
        self.assertIn("1 synced message, 1 attachment and 1 copy logged", wizard.removal)
        wizard.action_confirm()
        self.assertFalse(self.logged(self.lead))
        self.assertFalse(self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)]))
        self.assertFalse(self.lead.message_ids.filtered(lambda m: m.subject == "Question"))

    def test_nothing_is_logged_when_logging_is_off(self):
        path = self.folder((message("Hello"), 0))
        mailbox = self.mailbox(path)
        mailbox.log_mode = "none"
        self.sync(mailbox)
        self.assertFalse(self.logged(self.lead))


@tagged("post_install", "-at_install")
class TestSyncInTheBrowser(ServerFoldersMixin, StackHttpMixin, HttpCase):
    def test_sync_now_progress_and_the_messages(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "sync_budget", "10")
        path = self.folder(*[(message(f"Offer {n}", n), n) for n in reversed(range(25))])  # as mail arrives
        mailbox = self.mailbox(path)
        self.start_tour(
            f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}",
            "mail_connected_mailbox_tour_sync",
            login=self.user_ann.login,
        )
        self.assertEqual(mailbox.synced_message_count, 10)


@tagged("post_install", "-at_install")
class TestMyMailInTheBrowser(ServerFoldersMixin, StackHttpMixin, HttpCase):
    def test_a_salesperson_reads_a_message_and_opens_the_lead_it_was_logged_on(self):
        self.user_ann.groups_id += self.env.ref("sales_team.group_sale_salesman_all_leads")
        lead = self.env["crm.lead"].create({"name": "Spring deal", "email_from": "lead@customer.test"})
        key = f"<{secrets.token_hex(8)}@customer.test>"
        path = self.folder(
            (message("Question about the offer", 1, message_id=key), 1),
            (message("Follow-up", 0, sender="Boss <boss@customer-hq.test>", References=key), 0),
        )
        mailbox = self.mailbox(path)
        mailbox._claim_sync(ids=mailbox.ids, limit=1)._sync_round()
        self.start_tour("/odoo", "mail_connected_mailbox_tour_my_mail", login=self.user_ann.login)
        self.assertTrue(lead.message_ids.filtered(lambda m: m.subject == "Question about the offer"))
