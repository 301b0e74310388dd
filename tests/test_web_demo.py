"""The README's demo in Chromium: Google and Microsoft mailboxes connected through the
emulators exactly as README.md says (Mailboxes, New, kind, address, Connect, type the
address on the consent page, Allow), a revoked token found by Test connection, and a
refused sign-in shown on its page and on the form.

The consent page is another site, where Odoo's tours cannot run: the test does there
what a person does, through the browser's DevTools protocol, between two tours."""

import contextlib

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser, ChromeBrowserException

from .common import BrowserPageMixin, StackHttpMixin, flip


@tagged("post_install", "-at_install")
class TestWebDemo(BrowserPageMixin, StackHttpMixin, HttpCase):
    # ------------------------------------------------------------------ browser helpers
    def open_browser(self, user, cookies):
        browser = ChromeBrowser(self, success_signal="tour succeeded")
        self.addCleanup(self._wait_remaining_requests)
        self.addCleanup(browser.stop)
        self.authenticate(user.login, self.password(user.login), browser=browser)
        for name, value in cookies.items():
            browser.set_cookie(name, value, "/", "127.0.0.1")
        self.cr.flush()
        self.cr.clear()
        browser.navigate_to(self.base_url() + "/odoo", wait_stop=True)
        return browser

    def click(self, browser, script):
        """Run ``script``, which clicks something that leaves the page."""
        with contextlib.suppress(ChromeBrowserException):  # the page left before answering
            self.evaluate(browser, script)

    def consent(self, browser, provider_url, address, untick=()):
        """On the emulator's consent page: type the address, untick, click Allow."""
        self.wait_for(browser, f"location.href.startsWith({provider_url!r})", "the consent page opens")
        self.wait_for(browser, "document.querySelector('button[value=allow]')", "the consent page is ready")
        script = f"""
            document.querySelector('input[name=email]').value = {address!r};
            for (const box of document.querySelectorAll('input[name=granted]')) {{
                if ({list(untick)!r}.includes(box.value)) box.checked = false;
            }}
            document.querySelector('button[value=allow]').click();
            true
        """
        self.click(browser, script)
        self.wait_for(browser, f"location.href.startsWith({self.base_url()!r})", "back in Odoo")

    def start_demo(self, user, kind, address):
        browser = self.open_browser(
            user, {"mcm_kind": kind, "mcm_address": address, "mcm_imap_port": str(self.stack["imap_port"])}
        )
        self.run_tour(browser, "mail_connected_mailbox_tour_new_oauth_mailbox")
        return browser

    def provider_page(self, kind):
        return self.stack["google"]["url"] if kind == "google" else self.stack["microsoft"]["browser_url"]

    # ------------------------------------------------------------------ the demo
    def test_google_demo_then_revoked_token_turns_red(self):
        address = "you@gmail.test"
        browser = self.start_demo(self.user_ann, "google", address)
        self.consent(browser, self.provider_page("google"), address)
        self.run_tour(browser, "mail_connected_mailbox_tour_oauth_connected")
        mailbox = self.env["mail.mailbox"].search([("email", "=", address)])
        self.assertEqual((mailbox.state, mailbox.name, mailbox.user_id), ("connected", address, self.user_ann))
        # the user revokes Odoo's access at Google; Test connection finds it and says so
        flip(self.stack, "revoke", email=address)
        self.run_tour(browser, "mail_connected_mailbox_tour_revoked_turns_red")
        self.env.invalidate_all()  # the browser's requests changed it
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("Google no longer accepts Odoo's access", mailbox.last_error_cause)

    def test_microsoft_demo_shows_no_certificate_warning(self):
        address = "you@contoso.test"
        browser = self.start_demo(self.user_ann, "microsoft", address)
        self.consent(browser, self.provider_page("microsoft"), address)
        self.assertTrue(self.provider_page("microsoft").startswith("http://127.0.0.1:"))
        self.run_tour(browser, "mail_connected_mailbox_tour_oauth_connected")
        mailbox = self.env["mail.mailbox"].search([("email", "=", address)])
        self.assertEqual(mailbox.state, "connected")

    def test_refused_sign_in_page_is_styled_and_the_form_shows_it(self):
        address = "refused@contoso.test"
        browser = self.start_demo(self.user_ann, "microsoft", address)
        self.consent(
            browser,
            self.provider_page("microsoft"),
            address,
            untick=["https://outlook.office.com/IMAP.AccessAsUser.All"],
        )
        self.wait_for(browser, "document.querySelector('.o_mcm_result_page')", "the refusal page")
        page = self.evaluate(browser, "document.querySelector('.o_mcm_result_page').innerText")
        self.assertIn("is not connected", page)
        self.assertIn("not given every permission", page)
        self.assertIn("Click Connect", page)
        self.assertNotIn("Reconnect", page)
        # styled like Odoo's own pages: the frontend assets are loaded and applied
        styled = self.evaluate(
            browser,
            "!!document.querySelector('link[href*=\"assets_frontend\"]') && "
            "getComputedStyle(document.querySelector('.o_mcm_result_page .btn-primary')).display === 'inline-block'",
        )
        self.assertTrue(styled, "the refusal page is not styled")
        self.click(browser, "document.querySelector('.o_mcm_result_page a.btn-primary').click(); true")
        self.wait_for(browser, "location.pathname.includes('mail_mailbox_action')", "back on the mailbox")
        self.run_tour(browser, "mail_connected_mailbox_tour_refusal_on_the_form")
        mailbox = self.env["mail.mailbox"].search([("email", "=", address)])
        self.assertEqual(mailbox.state, "draft")
        self.assertIn("IMAP.AccessAsUser.All", mailbox.last_error_cause)
