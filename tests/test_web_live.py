"""What shows without a reload, in Chromium: the progress of the past mail while the
sync fetches it, a check's result on the health board, the top-bar indicator of a
mailbox that needs attention, the Last check tab after Check now, and the toast after
a Google or Microsoft sign-in.

The server's part runs in the test between two tours in the same page (as the cron or
the scheduled check would), and the page's mark shows it was never reloaded. Odoo's bus
reaches the browser through its websocket, which Odoo's tests turn off (its own bus
tests turn it on the same way); a test transaction never commits, so the test sends the
wake-up Odoo sends at commit (``NOTIFY imbus``) itself: the bus rows are the ones the
code under test wrote."""

import contextlib
from unittest.mock import patch

import odoo
from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser, ChromeBrowserException
from odoo.tools import SQL

from odoo.addons.bus.models.bus import ODOO_NOTIFY_FUNCTION, channel_with_db, get_notify_payloads
from odoo.addons.bus.websocket import WebsocketConnectionHandler

from .common import BrowserPageMixin, StackHttpMixin
from .test_sync import PARAM, ServerFoldersMixin, message


class LiveBrowserMixin(BrowserPageMixin):
    """A browser driven from the test: tours run one after another in one page."""

    screenshot_prefix = "sc_mcm_live_wait_"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.object(WebsocketConnectionHandler, "websocket_allowed", return_value=True))

    def open_browser(self, user, url="/odoo", cookies=None):
        browser = ChromeBrowser(self, success_signal="tour succeeded")
        self.addCleanup(self._wait_remaining_requests)
        self.addCleanup(browser.stop)
        self.authenticate(user.login, self.password(user.login), browser=browser)
        for name, value in (cookies or {}).items():
            browser.set_cookie(name, value, "/", "127.0.0.1")
        self.cr.flush()
        self.cr.clear()
        browser.navigate_to(self.base_url() + url, wait_stop=True)
        return browser

    def assert_never_reloaded(self, browser):
        self.assertIs(self.evaluate(browser, "window.mcmLivePage"), True, "the page was reloaded")

    @contextlib.contextmanager
    def server_side(self, *users):
        """Work of the server (a cron round, a scheduled check) while the browser waits;
        then what Odoo does at commit: the bus rows written and the listeners woken."""
        with self.registry.test_lock:  # the browser's requests wait meanwhile
            yield
            self.wake_the_bus(*users)

    def wake_the_bus(self, *users):
        self.env.flush_all()
        self.env.cr.flush()  # the bus rows the code under test queued (precommit)
        channels = [channel_with_db(self.env.cr.dbname, user.partner_id) for user in users]
        with odoo.sql_db.db_connect("postgres").cursor() as cr:
            for payload in get_notify_payloads(channels):
                cr.execute(SQL("SELECT %s('imbus', %s)", SQL.identifier(ODOO_NOTIFY_FUNCTION), payload))


@tagged("post_install", "-at_install")
class TestWebLive(LiveBrowserMixin, ServerFoldersMixin, StackHttpMixin, HttpCase):
    def sync_round(self, mailbox):
        claimed = mailbox._claim_sync(ids=mailbox.ids, limit=1)
        self.assertEqual(claimed, mailbox)
        return claimed._sync_round()

    def test_the_past_mail_comes_in_live_on_the_form(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM + "sync_budget", "10")
        path = self.folder(*[(message(f"Offer {n}", n), n) for n in reversed(range(30))])
        mailbox = self.mailbox(path)  # connected: the cron is asked to sync it
        browser = self.open_browser(
            self.user_ann, f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}"
        )
        self.run_tour(browser, "mail_connected_mailbox_tour_live_form_ready")
        for tour in ("first_batch", "second_batch", "up_to_date"):
            with self.server_side(self.user_ann):  # a round of the cron
                self.sync_round(mailbox)
            self.run_tour(browser, f"mail_connected_mailbox_tour_live_{tour}")
        self.assert_never_reloaded(browser)
        self.assertEqual(mailbox.synced_message_count, 30)

    def test_the_health_board_shows_a_check_at_once(self):
        mailbox = self.mailbox()
        mailbox._set_secrets({"password": "changed-at-the-server"})
        browser = self.open_browser(self.user_ada)
        self.run_tour(browser, "mail_connected_mailbox_tour_live_health_board_check")
        with self.server_side(self.user_ada):  # the button's transaction committed
            self.assertEqual(mailbox.state, "auth_lost")
        self.run_tour(browser, "mail_connected_mailbox_tour_live_health_board_row")
        self.assert_never_reloaded(browser)

    def test_the_top_bar_shows_a_lost_mailbox_until_it_works_again(self):
        mailbox = self.mailbox()
        password = mailbox._get_secret("password")
        browser = self.open_browser(self.user_ann, "/odoo/discuss")
        self.run_tour(browser, "mail_connected_mailbox_tour_live_no_attention")
        # the password changed at the server: the scheduled check finds it
        with self.server_side(self.user_ann):
            mailbox._set_secrets({"password": "changed-at-the-server"})
            mailbox._claim(ids=mailbox.ids, limit=1)._check_health()
            self.assertEqual(mailbox.state, "auth_lost")
        self.run_tour(browser, "mail_connected_mailbox_tour_live_attention")
        # it works again (Check now elsewhere): the indicator goes by itself
        with self.server_side(self.user_ann):
            mailbox._set_secrets({"password": password})
            mailbox._claim(ids=mailbox.ids, limit=1)._check_health(trigger="manual")
            self.assertEqual(mailbox.state, "connected")
        self.run_tour(browser, "mail_connected_mailbox_tour_live_attention_gone")
        # lost again; Reconnect in the top bar, once the server takes the password again
        with self.server_side(self.user_ann):
            mailbox._set_secrets({"password": "changed-at-the-server"})
            mailbox._claim(ids=mailbox.ids, limit=1)._check_health()
        self.run_tour(browser, "mail_connected_mailbox_tour_live_attention")
        with self.server_side():
            mailbox._set_secrets({"password": password})
        self.run_tour(browser, "mail_connected_mailbox_tour_live_attention_reconnect")
        self.assert_never_reloaded(browser)
        self.env.invalidate_all()  # the browser's request changed it
        self.assertEqual(mailbox.state, "connected")

    def test_check_now_writes_the_last_check_tab(self):
        mailbox = self.mailbox()
        self.assertIn("✔ SMTP AUTH", mailbox.last_check_report)
        mailbox._set_secrets({"password": "changed-at-the-server"})
        self.start_tour(
            f"/odoo/action-mail_connected_mailbox.mail_mailbox_action/{mailbox.id}",
            "mail_connected_mailbox_tour_live_check_now_report",
            login=self.user_ann.login,
        )
        self.assertEqual(mailbox.state, "auth_lost")
        self.assertIn("✘ IMAP Login", mailbox.last_check_report)
        self.assertNotIn("SMTP", mailbox.last_check_report)


@tagged("post_install", "-at_install")
class TestWebLiveOAuth(LiveBrowserMixin, StackHttpMixin, HttpCase):
    def test_a_toast_says_a_google_mailbox_is_connected(self):
        address = "toast@gmail.test"
        cookies = {"mcm_kind": "google", "mcm_address": address, "mcm_imap_port": str(self.stack["imap_port"])}
        browser = self.open_browser(self.user_ann, cookies=cookies)
        self.run_tour(browser, "mail_connected_mailbox_tour_new_oauth_mailbox")
        provider = self.stack["google"]["url"]
        self.wait_for(browser, f"location.href.startsWith({provider!r})", "the consent page opens")
        self.wait_for(browser, "document.querySelector('button[value=allow]')", "the consent page is ready")
        with contextlib.suppress(ChromeBrowserException):  # the page leaves before answering
            self.evaluate(
                browser,
                f"document.querySelector('input[name=email]').value = {address!r}; "
                "document.querySelector('button[value=allow]').click(); true",
            )
        self.wait_for(browser, f"location.href.startsWith({self.base_url()!r})", "back in Odoo")
        self.run_tour(browser, "mail_connected_mailbox_tour_live_oauth_toast")
        mailbox = self.env["mail.mailbox"].search([("email", "=", address)])
        self.assertEqual(mailbox.state, "connected")
