from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import MailboxCase


@tagged("post_install", "-at_install")
class TestMailbox(MailboxCase):
    def test_user_creates_own_mailbox_with_normalized_address(self):
        mailbox = self.create_mailbox(self.user_ann, "  Ann Seller <Ann.Seller@Example.COM> ")
        self.assertEqual(mailbox.email, "ann.seller@example.com")
        self.assertEqual(mailbox.name, "ann.seller@example.com")
        self.assertEqual(mailbox.login, "ann.seller@example.com")
        self.assertEqual(mailbox.user_id, self.user_ann)
        self.assertEqual(mailbox.state, "draft")
        self.assertEqual(mailbox.backfill_days, 60)
        self.assertIn(mailbox, self.user_ann.mailbox_ids)

    def test_backfill_default_follows_settings(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.backfill_days", 14)
        self.assertEqual(self.create_mailbox(self.user_ann, "ann@example.com").backfill_days, 14)

    def test_invalid_address_is_refused_and_nothing_created(self):
        Mailbox = self.env["mail.mailbox"].sudo()
        before = Mailbox.search_count([])
        for typed in ("ann", "ann@example", "ann @example.com"):
            with self.subTest(typed=typed), self.assertRaisesRegex(ValidationError, "name@example.com"):
                self.create_mailbox(self.user_ann, typed)
        with self.assertRaisesRegex(ValidationError, "name@example.com"):
            self.create_mailbox(self.user_ann, "ann@example.com").write({"email": "not an address"})
        self.assertEqual(Mailbox.search_count([]), before + 1)

    def test_duplicate_address_names_the_owner_and_the_fix(self):
        self.create_mailbox(self.user_ann, "team@example.com")
        with self.assertRaisesRegex(ValidationError, r"already connected \(owner: another user\).*Reconnect"):
            self.create_mailbox(self.user_ben, "TEAM@example.com")
        with self.assertRaisesRegex(ValidationError, r"already connected \(owner: Ann Seller\)"):
            self.create_mailbox(self.user_ada, "team@example.com")

    def test_duplicate_of_archived_mailbox_says_restore(self):
        self.create_mailbox(self.user_ann, "old@example.com").action_archive()
        with self.assertRaisesRegex(ValidationError, "archived.*restore it"):
            self.create_mailbox(self.user_ann, "old@example.com")

    def test_oauth_mailbox_needs_the_app_configured(self):
        self._clear_oauth_apps(self.env)
        Mailbox = self.env["mail.mailbox"].sudo()
        before = Mailbox.search_count([])
        for provider, label in (("google", "Google"), ("microsoft", "Microsoft")):
            with (
                self.subTest(provider=provider),
                self.assertRaisesRegex(
                    UserError, f"{label}.*OAuth app is not configured.*Settings › Connected Mailboxes"
                ),
            ):
                self.env["mail.mailbox"].with_user(self.user_ann).create(
                    {"email": f"ann-{provider}@example.com", "provider": provider}
                )
        self.assertEqual(Mailbox.search_count([]), before)

    def test_oauth_mailbox_gets_the_provider_servers(self):
        self._configure_oauth_apps(self.env)
        google = (
            self.env["mail.mailbox"]
            .with_user(self.user_ann)
            .create({"email": "ann@gmail.example", "provider": "google"})
        )
        self.assertEqual(
            (google.imap_host, google.imap_port, google.smtp_host), ("imap.gmail.com", 993, "smtp.gmail.com")
        )
        outlook = (
            self.env["mail.mailbox"]
            .with_user(self.user_ann)
            .create({"email": "ann@outlook.example", "provider": "microsoft"})
        )
        self.assertEqual(
            (outlook.smtp_host, outlook.smtp_port, outlook.smtp_security), ("smtp.office365.com", 587, "starttls")
        )

    def test_ports_must_be_tcp_ports(self):
        with self.assertRaisesRegex(ValidationError, "1 to 65535"):
            self.create_mailbox(self.user_ann, "ann@example.com", imap_port=70000)

    def test_users_see_and_edit_only_their_own(self):
        ann_box = self.create_mailbox(self.user_ann, "ann@example.com")
        ben_box = self.create_mailbox(self.user_ben, "ben@example.com")
        Mailbox = self.env["mail.mailbox"]
        self.assertEqual(Mailbox.with_user(self.user_ben).search([("id", "in", (ann_box | ben_box).ids)]), ben_box)
        with self.assertRaises(AccessError):
            ann_box.with_user(self.user_ben).read(["email"])
        with self.assertRaises(AccessError):
            ann_box.with_user(self.user_ben).write({"name": "mine now"})
        with self.assertRaises(AccessError):
            ann_box.with_user(self.user_ben).unlink()
        ann_box.with_user(self.user_ann).write({"name": "Work"})
        self.assertEqual(ann_box.name, "Work")
        self.assertEqual(
            Mailbox.with_user(self.user_ada).search([("id", "in", (ann_box | ben_box).ids)]), ann_box | ben_box
        )

    def test_groups(self):
        user_group = self.env.ref("mail_connected_mailbox.mail_connected_mailbox_group_user")
        admin_group = self.env.ref("mail_connected_mailbox.mail_connected_mailbox_group_admin")
        self.assertIn(user_group, self.user_ann.groups_id)
        self.assertNotIn(admin_group, self.user_ann.groups_id)
        self.assertIn(admin_group, self.user_ada.groups_id)

    def test_settings_reuse_odoo_parameters_and_show_redirect_uris(self):
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "https://crm.example.com")
        settings = (
            self.env["res.config.settings"]
            .with_user(self.user_ada)
            .create({"mcm_google_client_id": "g-123", "mcm_microsoft_tenant": "organizations"})
        )
        settings.execute()
        params = self.env["ir.config_parameter"].sudo()
        self.assertEqual(params.get_param("google_gmail_client_id"), "g-123")
        self.assertEqual(params.get_param("mail_connected_mailbox.microsoft_tenant"), "organizations")
        fresh = self.env["res.config.settings"].with_user(self.user_ada).create({})
        self.assertEqual(fresh.mcm_google_client_id, "g-123")
        self.assertEqual(fresh.mcm_backfill_days, 60)
        self.assertEqual(
            fresh.mcm_google_redirect_uri, "https://crm.example.com/mail_connected_mailbox/oauth/google/callback"
        )
        self.assertEqual(
            fresh.mcm_microsoft_redirect_uri, "https://crm.example.com/mail_connected_mailbox/oauth/microsoft/callback"
        )

    def test_settings_refuse_nonsense_numbers(self):
        with self.assertRaisesRegex(ValidationError, "at least one minute"):
            self.env["res.config.settings"].with_user(self.user_ada).create({"mcm_health_check_minutes": 0})

    def test_status_is_set_by_odoo_only(self):
        mailbox = self.create_mailbox(self.user_ann, "ann@example.com")
        for values in ({"state": "connected"}, {"last_error_cause": "nothing"}, {"resync_since": "2020-01-01"}):
            with self.subTest(values=values), self.assertRaisesRegex(AccessError, "use the buttons"):
                mailbox.with_user(self.user_ann).write(values)
        with self.assertRaisesRegex(AccessError, "use the buttons"):
            self.env["mail.mailbox"].with_user(self.user_ada).create(
                {"email": "x@example.com", "imap_host": "h", "state": "connected"}
            )
        self.assertEqual(mailbox.state, "draft")
        # the form sends the default status along with a new record: that is fine
        self.env["mail.mailbox"].with_user(self.user_ann).create(
            {"email": "y@example.com", "imap_host": "h", "state": "draft", "last_check_date": False}
        )

    def test_owner_and_address_are_guarded(self):
        mailbox = self.create_mailbox(self.user_ann, "ann@example.com")
        with self.assertRaisesRegex(AccessError, "Only a mailbox administrator"):
            mailbox.with_user(self.user_ann).write({"user_id": self.user_ben.id})
        with self.assertRaisesRegex(AccessError, "Only a mailbox administrator"):
            self.env["mail.mailbox"].with_user(self.user_ann).create(
                {"email": "gift@example.com", "imap_host": "h", "user_id": self.user_ben.id}
            )
        mailbox.with_user(self.user_ada).write({"user_id": self.user_ben.id})
        self.assertEqual(mailbox.sudo().user_id, self.user_ben)
        mailbox._set_state("connected")
        with self.assertRaisesRegex(AccessError, "cannot change"):
            mailbox.with_user(self.user_ben).write({"email": "other@example.com"})

    def test_preferences_cannot_take_over_mailboxes(self):
        ann_box = self.create_mailbox(self.user_ann, "ann@example.com")
        for command in ([(4, ann_box.id)], [(1, ann_box.id, {"imap_host": "evil.example.com"})], [(2, ann_box.id)]):
            with self.subTest(command=command), self.assertRaises(AccessError):
                self.user_ben.with_user(self.user_ben).write({"mailbox_ids": command})
        self.assertEqual((ann_box.user_id, ann_box.imap_host), (self.user_ann, "127.0.0.1"))

    def test_folder_sync_state_is_odoo_s(self):
        mailbox = self.create_mailbox(self.user_ann, "ann@example.com")
        folder = (
            self.env["mail.mailbox.folder"].sudo().create({"mailbox_id": mailbox.id, "path": "INBOX", "name": "Inbox"})
        )
        folder.with_user(self.user_ann).write({"selected": False})
        self.assertFalse(folder.selected)
        with self.assertRaisesRegex(AccessError, "choice of folders"):
            folder.with_user(self.user_ann).write({"sync_state": {"uidvalidity": 7}})
