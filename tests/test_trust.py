"""Rights that hold, whatever the RPC route: each call below is made over XML-RPC or
JSON-RPC as a real user, is refused, and changes nothing."""

import xmlrpc.client

from odoo.tests import HttpCase, tagged

from .common import GOOGLE_PARAMS, MICROSOFT_PARAMS, MailboxUsersMixin

SECRETS = ("google-secret-never-shown", "microsoft-secret-never-shown")


@tagged("post_install", "-at_install")
class TestTrust(MailboxUsersMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_users(cls.env)
        cls._setup_portal_user(cls.env)
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param(GOOGLE_PARAMS[1], SECRETS[0])
        params.set_param(MICROSOFT_PARAMS[1], SECRETS[1])
        cls.ann_box = (
            cls.env["mail.mailbox"]
            .with_user(cls.user_ann)
            .create({"email": "ann.trust@example.com", "imap_host": "127.0.0.1"})
        )

    # ------------------------------------------------------------------ helpers
    def assertDenied(self, user, model, method, *args, **kwargs):
        with self.assertRaises(xmlrpc.client.Fault) as info:
            self.call(user, model, method, *args, **kwargs)
        fault = info.exception.faultString
        for secret in SECRETS:
            self.assertNotIn(secret, fault)
        # the exception's own words: the last lines of the traceback the server sends
        return fault.strip().split("Error: ")[-1] if "Traceback" in fault else fault

    def call_button(self, user, model, method, ids, context=None):
        self.authenticate(user.login, self.password(user.login))
        return self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {"model": model, "method": method, "args": [ids], "kwargs": {"context": context or {}}},
        )

    def settings_fields(self):
        return ["mcm_google_client_secret", "mcm_microsoft_client_secret", "mcm_google_client_id"]

    # ------------------------------------------------------------------ 1. client secrets
    def test_settings_secrets_are_for_administrators_only(self):
        core_fields = [
            name
            for name in ("google_gmail_client_secret", "microsoft_outlook_client_secret")
            if name in self.env["res.config.settings"]._fields
        ]
        for user in (self.user_ann, self.user_pat):
            for method, args in (
                ("default_get", [self.settings_fields() + core_fields]),
                ("get_values", []),
                ("onchange", [[], {}, [], {name: {} for name in self.settings_fields()}]),
            ):
                with self.subTest(user=user.login, method=method):
                    fault = self.assertDenied(user, "res.config.settings", method, *args)
                    self.assertIn("Only administrators can open the settings", fault)
        values = self.call(self.user_ada, "res.config.settings", "default_get", self.settings_fields())
        self.assertEqual(values["mcm_google_client_secret"], SECRETS[0])

    # ------------------------------------------------------------------ 2. key rotation
    def test_only_administrators_rotate_the_key(self):
        key_before = self.env["mail.mailbox.key"].sudo().search([]).key
        for user in (self.user_ann, self.user_pat):
            with self.subTest(user=user.login, route="xmlrpc"):
                self.assertDenied(user, "res.config.settings", "action_mcm_rotate_key", [])
            with (
                self.subTest(user=user.login, route="call_button"),
                self.assertLogs("odoo.http", "WARNING") as logs,
                self.assertRaisesRegex(Exception, "AccessError"),
            ):
                self.call_button(user, "res.config.settings", "action_mcm_rotate_key", [])
            self.assertIn("Only administrators can open the settings", "\n".join(logs.output))
        self.assertEqual(self.env["mail.mailbox.key"].sudo().search([]).key, key_before)
        settings = self.env["res.config.settings"].with_user(self.user_ada).create({})
        settings.action_mcm_rotate_key()
        self.assertNotEqual(self.env["mail.mailbox.key"].sudo().search([]).key, key_before)

    # ------------------------------------------------------------------ 3. buttons check rights
    def test_a_follower_without_access_cannot_act(self):
        self.ann_box.message_subscribe(partner_ids=self.user_ben.partner_id.ids)
        for method in ("action_disable", "action_enable", "action_connect", "action_test_connection"):
            with self.subTest(method=method):
                fault = self.assertDenied(self.user_ben, "mail.mailbox", method, [self.ann_box.id])
                self.assertIn("doesn't have 'write' access", fault)
        self.assertEqual(self.ann_box.state, "draft")

    def test_owner_change_unsubscribes_and_tells_both_owners(self):
        mailbox = self.ann_box.sudo()
        self.assertIn(self.user_ann.partner_id, mailbox.message_partner_ids)
        self.ann_box.with_user(self.user_ada).user_id = self.user_ben
        self.assertNotIn(self.user_ann.partner_id, mailbox.message_partner_ids)
        self.assertIn(self.user_ben.partner_id, mailbox.message_partner_ids)
        message = mailbox.message_ids[0]
        self.assertIn("gave this mailbox to Ben Seller", str(message.body))
        self.assertEqual(message.partner_ids, self.user_ann.partner_id | self.user_ben.partner_id)
        fault = self.assertDenied(self.user_ann, "mail.mailbox", "action_disable", [self.ann_box.id])
        self.assertIn("doesn't have 'write' access", fault)
        self.assertEqual(mailbox.state, "draft")

    # ------------------------------------------------------------------ 4. disconnect wizard
    def test_disconnect_wizard_reveals_no_other_mailbox(self):
        wizard = "mail.mailbox.disconnect.wizard"
        missing_id = self.ann_box.id + 100000
        faults = []
        for mailbox_id in (self.ann_box.id, missing_id):
            faults.append(self.assertDenied(self.user_ben, wizard, "create", {"mailbox_id": mailbox_id}))
            faults.append(
                self.assertDenied(
                    self.user_ben,
                    wizard,
                    "onchange",
                    [],
                    {},
                    [],
                    {"mailbox_id": {"fields": {"display_name": {}}}},
                    context={"default_mailbox_id": mailbox_id},
                )
            )
            # the first onchange of a form sends the value itself (no default_get then)
            faults.append(
                self.assertDenied(
                    self.user_ben, wizard, "onchange", [], {"mailbox_id": mailbox_id}, [], {"mailbox_id": {}}
                )
            )
        for fault in faults:
            self.assertNotIn("ann.trust@example.com", fault)
            self.assertIn("You can only disconnect a mailbox you manage", fault)
        # the same words whether the mailbox exists or not
        self.assertEqual(faults[0].splitlines()[-1], faults[3].splitlines()[-1])
        created = self.call(self.user_ann, wizard, "create", {"mailbox_id": self.ann_box.id})
        self.assertTrue(created)

    # ------------------------------------------------------------------ 5. not a port scanner
    def test_test_connection_is_not_a_port_scanner(self):
        for host in ("127.0.0.1", "10.20.30.40", "169.254.169.254"):
            with self.subTest(host=host):
                self.ann_box.sudo().write({"imap_host": host, "imap_port": 22, "smtp_host": host})
                fault = self.assertDenied(self.user_ann, "mail.mailbox", "action_test_connection", [self.ann_box.id])
                self.assertIn("private, loopback or link-local", fault)
                self.assertFalse(self.ann_box.last_check_report)  # nothing was tried

    def test_no_other_route_names_someone_else_s_mailbox(self):
        spec = {"mailbox_id": {"fields": {"display_name": {}}}}
        fault = self.assertDenied(
            self.user_ben, "mail.mailbox.folder", "onchange", [], {"mailbox_id": self.ann_box.id}, [], spec
        )
        self.assertNotIn("ann.trust@example.com", fault)
        # a many2one is read as superuser: the name shows only to those who may read it
        self.assertEqual(self.ann_box.with_user(self.user_ben).sudo().display_name, "Restricted mailbox")
        self.assertEqual(self.ann_box.with_user(self.user_ann).sudo().display_name, "ann.trust@example.com")
        self.assertEqual(self.ann_box.with_user(self.user_ada).sudo().display_name, "ann.trust@example.com")
