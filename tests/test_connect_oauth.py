"""Google and Microsoft sign-in through the real controllers, the real libraries and the
provider emulators; then IMAP XOAUTH2 on the local Dovecot."""

import urllib.parse

from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged

from ..devstack.oauth_emulator import answer_consent
from .common import OAuthSignInMixin, StackHttpMixin, captured_logs, flip


@tagged("post_install", "-at_install")
class TestConnectOAuth(OAuthSignInMixin, StackHttpMixin, HttpCase):
    def assertConnected(self, mailbox, response):
        self.assertEqual(response.status_code, 303, response.text[:500])
        self.assertIn(
            f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}", response.headers["Location"]
        )
        self.assertEqual(mailbox.state, "connected")

    def assertRefused(self, mailbox, response, text):
        self.assertEqual(response.status_code, 400)
        self.assertIn(text, response.text)
        if mailbox:
            self.assertEqual(mailbox.state, "draft")
            self.assertFalse(self.env["mail.mailbox.secret"].sudo().search([("mailbox_id", "=", mailbox.id)]))

    # ------------------------------------------------------------------ Google
    def test_google_connect_login_refresh_and_revoke(self):
        mailbox, response = self.connect(self.user_ann, "google", "ann@gmail.test")
        self.assertConnected(mailbox, response)
        self.assertTrue(mailbox._get_secret("refresh_token"))
        self.assertIn("✔ IMAP Login: signed in as ann@gmail.test", mailbox.last_check_report)
        # the local server has an Archive folder (Gmail has All Mail instead): both are synced by default
        self.assertEqual({f.path for f in mailbox.folder_ids if f.selected}, {"INBOX", "Sent", "Archive"})
        # IMAP (and SMTP) with XOAUTH2 work with the stored token
        self.assertIsNone(mailbox._check_mailbox_access())
        # refresh: the emulator expires the access token, Odoo gets a new one with the refresh token
        before = mailbox._get_secret("access_token")
        flip(self.stack, "expire", email="ann@gmail.test")
        self.assertIsNone(mailbox._check_mailbox_access())
        self.assertNotEqual(mailbox._get_secret("access_token"), before)
        # the user revokes Odoo's access at Google: the next check classifies it
        flip(self.stack, "revoke", email="ann@gmail.test")
        problem = mailbox._check_mailbox_access()
        self.assertEqual((problem.kind, problem.provider_code), ("revoked", "invalid_grant"))
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("Google no longer accepts Odoo's access to ann@gmail.test", mailbox.last_error_cause)
        self.assertIn("Reconnect", mailbox.last_error_fix)

    def test_google_reconnect_in_place(self):
        mailbox, response = self.connect(self.user_ann, "google", "ann2@gmail.test")
        self.assertConnected(mailbox, response)
        flip(self.stack, "revoke", email="ann2@gmail.test")
        mailbox._check_mailbox_access()
        self.assertEqual(mailbox.state, "auth_lost")
        folders = mailbox.folder_ids.ids
        self.authenticate(self.user_ann.login, self.password(self.user_ann.login))
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {"model": "mail.mailbox", "method": "action_reconnect", "args": [[mailbox.id]], "kwargs": {}},
        )
        self.assertConnected(mailbox, self.come_back(answer_consent(action["url"], "ann2@gmail.test")))
        self.assertEqual(mailbox.folder_ids.ids, folders)

    def test_google_fills_in_the_address(self):
        mailbox, url = self.start(self.user_ann, "google", False)
        self.assertConnected(mailbox, self.come_back(answer_consent(url, "Fresh@Gmail.test")))
        self.assertEqual((mailbox.email, mailbox.name), ("fresh@gmail.test", "fresh@gmail.test"))

    def test_google_wrong_account(self):
        mailbox, response = self.connect(self.user_ann, "google", "ann3@gmail.test", signed_in="other@gmail.test")
        self.assertRefused(mailbox, response, "You signed in as other@gmail.test, but this mailbox is ann3@gmail.test")

    def test_google_unticked_permission(self):
        mailbox, response = self.connect(self.user_ann, "google", "ann4@gmail.test", granted=["openid"])
        self.assertRefused(mailbox, response, "missing: https://mail.google.com/")

    def test_google_user_cancels(self):
        mailbox, response = self.connect(self.user_ann, "google", "ann5@gmail.test", allow=False)
        self.assertRefused(mailbox, response, "was cancelled")

    def test_tampered_replayed_and_foreign_state(self):
        mailbox, url = self.start(self.user_ann, "google", "ann6@gmail.test")
        callback = answer_consent(url, "ann6@gmail.test")
        split = urllib.parse.urlsplit(callback)
        query = dict(urllib.parse.parse_qsl(split.query))
        tampered = urllib.parse.urlencode({**query, "state": query["state"][:-2] + "xx"})
        self.assertRefused(mailbox, self.url_open(f"{split.path}?{tampered}"), "does not match any sign-in")
        # Ben opens Ann's callback: refused, and Ann can still finish her own sign-in
        self.authenticate(self.user_ben.login, self.password(self.user_ben.login))
        self.assertRefused(mailbox, self.url_open(f"{split.path}?{split.query}"), "started by another Odoo user")
        self.authenticate(self.user_ann.login, self.password(self.user_ann.login))
        self.assertConnected(mailbox, self.come_back(callback))
        response = self.url_open(f"{split.path}?{split.query}", allow_redirects=False)
        self.assertEqual(response.status_code, 400)
        self.assertIn("already used", response.text)
        self.assertEqual(mailbox.state, "connected")

    def test_wrong_pkce_verifier(self):
        mailbox, url = self.start(self.user_ann, "google", "ann7@gmail.test")
        attempt = self.env["mail.mailbox.connect.attempt"].sudo().search([("mailbox_id", "=", mailbox.id)])
        attempt.secret = self.env["mail.mailbox.key"]._get_box().encrypt("x" * 64)
        response = self.come_back(answer_consent(url, "ann7@gmail.test"))
        self.assertRefused(mailbox, response, "Google no longer accepts")
        self.assertNotIn("x" * 64, response.text)

    def test_missing_app_configuration(self):
        self.env["ir.config_parameter"].sudo().set_param("google_gmail_client_secret", False)
        Mailbox = self.env["mail.mailbox"].sudo().with_context(active_test=False)
        before = Mailbox.search_count([])
        with self.assertRaisesRegex(UserError, "Google .* OAuth app is not configured"):
            self.env["mail.mailbox"].with_user(self.user_ann).create({"email": "z@gmail.test", "provider": "google"})
        self.assertEqual(Mailbox.search_count([]), before)

    def test_no_token_or_secret_in_logs(self):
        with captured_logs() as lines:
            mailbox, response = self.connect(self.user_ann, "google", "logs@gmail.test")
            self.assertConnected(mailbox, response)
            flip(self.stack, "expire", email="logs@gmail.test")
            mailbox._check_mailbox_access()
            flip(self.stack, "revoke", email="logs@gmail.test")
            mailbox._check_mailbox_access()
            ms_box, ms_response = self.connect(self.user_ben, "microsoft", "logs@contoso.test")
            self.assertConnected(ms_box, ms_response)
        secrets = [
            mailbox._get_secret("refresh_token"),
            mailbox._get_secret("access_token"),
            ms_box._get_secret("access_token"),
            self.stack["google"]["client_secret"],
            self.stack["microsoft"]["client_secret"],
        ]
        self.assertTrue(all(secrets))
        for secret in secrets:
            leaks = [line[:300] for line in lines if secret in line]
            self.assertFalse(leaks, "a secret was logged")

    # ------------------------------------------------------------------ Microsoft
    def test_microsoft_connect_refresh_and_classified_losses(self):
        for code, kind, text in (
            (50173, "revoked", "Microsoft no longer accepts"),
            (65001, "consent", "needs an administrator of your organisation to approve Odoo"),
            (50076, "mfa", "multi-factor authentication"),
        ):
            with self.subTest(code=code):
                address = f"max{code}@contoso.test"
                mailbox, response = self.connect(self.user_ben, "microsoft", address)
                self.assertConnected(mailbox, response)
                self.assertIn("RefreshToken", mailbox._get_secret("token_cache"))
                before = mailbox._get_secret("access_token")
                self.assertNotEqual(mailbox._get_access_token(force=True), before)
                self.assertIsNone(mailbox._check_mailbox_access())
                flip(self.stack, "revoke", email=address, code=code)
                problem = mailbox._check_mailbox_access()
                self.assertEqual((problem.kind, problem.provider_code), (kind, f"AADSTS{code}"))
                self.assertEqual(mailbox.state, "auth_lost")
                self.assertIn(text, mailbox.last_error_cause)
                if kind == "consent":
                    self.assertIn("/adminconsent?client_id=", mailbox.last_error_fix)

    def test_microsoft_throttling_is_not_an_auth_loss(self):
        mailbox, response = self.connect(self.user_ben, "microsoft", "tia@contoso.test")
        self.assertConnected(mailbox, response)
        flip(self.stack, "expire", email="tia@contoso.test")
        flip(self.stack, "throttle", seconds=120, count=5)
        problem = mailbox._check_mailbox_access()
        self.assertEqual(problem.kind, "throttled")
        self.assertEqual(mailbox.state, "throttled")

    def test_microsoft_provider_error_on_return(self):
        mailbox, url = self.start(self.user_ben, "microsoft", "tom@contoso.test")
        callback = answer_consent(url, "tom@contoso.test", allow=False, ca_file=self.ca("microsoft"))
        self.assertRefused(mailbox, self.come_back(callback), "was cancelled")

    def test_a_valid_state_without_code_gets_the_refusal_page(self):
        mailbox, url = self.start(self.user_ann, "google", "nocode@gmail.test")
        split = urllib.parse.urlsplit(answer_consent(url, "nocode@gmail.test"))
        query = dict(urllib.parse.parse_qsl(split.query))
        with captured_logs() as lines:
            response = self.url_open(f"{split.path}?state={query['state']}", allow_redirects=False)
        self.assertRefused(mailbox, response, "without an authorization code")
        self.assertIn("Click Connect again", response.text)
        self.assertNotIn("unexpected error", response.text)
        self.assertFalse([line for line in lines if "Traceback" in line or "ERROR" in line.split(":")[0]])
        self.assertIn("without an authorization code", mailbox.last_error_cause)  # shown on the form
        self.assertIn("Sign-in refused", str(mailbox.message_ids[0].body))

    def test_enable_on_a_google_mailbox_signs_in_with_its_token(self):
        mailbox, response = self.connect(self.user_ann, "google", "enable@gmail.test")
        self.assertConnected(mailbox, response)
        mailbox.with_user(self.user_ann).action_disable()
        mailbox.folder_ids.sudo().unlink()
        with captured_logs() as lines:
            self.assertTrue(mailbox.with_user(self.user_ann).action_enable())
        self.assertEqual(mailbox.state, "connected")
        self.assertIn("INBOX", mailbox.folder_ids.mapped("path"))  # listed again, with XOAUTH2
        self.assertFalse([line for line in lines if "Could not list the folders" in line])

    def test_a_failed_reconnect_keeps_a_connected_mailbox_connected(self):
        mailbox, response = self.connect(self.user_ann, "google", "keep@gmail.test")
        self.assertConnected(mailbox, response)
        token = mailbox._get_secret("refresh_token")
        self.authenticate(self.user_ann.login, self.password(self.user_ann.login))
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {"model": "mail.mailbox", "method": "action_reconnect", "args": [[mailbox.id]], "kwargs": {}},
        )
        response = self.come_back(answer_consent(action["url"], "keep@gmail.test", granted=["openid"]))
        self.assertEqual(response.status_code, 400)
        self.assertIn("The new sign-in to keep@gmail.test was refused", response.text)
        self.assertIn("keeps its previous access and its status (Connected)", response.text)
        self.assertNotIn("is not connected", response.text)
        self.assertEqual((mailbox.state, mailbox._get_secret("refresh_token")), ("connected", token))
        self.assertIn("missing: https://mail.google.com/", mailbox.last_error_cause)
