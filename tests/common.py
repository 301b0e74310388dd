"""Fixtures of the Odoo tier: users of each kind and the local mail stack's facts."""

import contextlib
import json
import logging
import os
import time
import unittest
import urllib.parse
from concurrent.futures import Future

from odoo.tests import TransactionCase, new_test_user
from odoo.tests.common import ChromeBrowserException

from ..devstack.testkit import custom_mailbox_values, imap_server, imap_server_missing, stack_parameters

GOOGLE_PARAMS = ("google_gmail_client_id", "google_gmail_client_secret")
MICROSOFT_PARAMS = ("microsoft_outlook_client_id", "microsoft_outlook_client_secret")


def load_stack():
    """The running mail stack (``make test`` starts it), or None when run without it."""
    path = os.environ.get("MCM_TEST_STACK")
    if not path:
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


class MailboxUsersMixin:
    """Two salespeople (Ann and Ben), a Settings administrator (Ada), and on demand a
    portal user (Pat); with XML-RPC calls made as any of them."""

    USERS = {
        "ann": ("Ann Seller", "base.group_user"),
        "ben": ("Ben Seller", "base.group_user"),
        "ada": ("Ada Admin", "base.group_user,base.group_system"),
    }

    @classmethod
    def _new_user(cls, env, key, name, groups):
        login = f"mcm_{key}"
        user = new_test_user(
            env, login=login, name=name, email=f"{key}@example.com", password=cls.password(login), groups=groups
        )
        setattr(cls, f"user_{key}", user)
        return user

    @classmethod
    def _setup_users(cls, env):
        for key, (name, groups) in cls.USERS.items():
            cls._new_user(env, key, name, groups)

    @classmethod
    def _setup_portal_user(cls, env):
        cls._new_user(env, "pat", "Pat Portal", "base.group_portal")

    def call(self, user, model, method, *args, **kwargs):
        """``model.method(*args, **kwargs)`` over XML-RPC, as ``user``."""
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, user.id, self.password(user.login), model, method, list(args), kwargs
        )

    @staticmethod
    def password(login):
        return f"{login}-Passw0rd!"

    @classmethod
    def _configure_oauth_apps(cls, env):
        params = env["ir.config_parameter"].sudo()
        for key, value in zip(GOOGLE_PARAMS + MICROSOFT_PARAMS, ("gid", "gsecret", "mid", "msecret"), strict=True):
            params.set_param(key, value)

    @classmethod
    def _clear_oauth_apps(cls, env):
        params = env["ir.config_parameter"].sudo()
        for key in GOOGLE_PARAMS + MICROSOFT_PARAMS:
            params.set_param(key, False)


class MailboxCase(MailboxUsersMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, mail_create_nolog=True, mail_notrack=True))
        cls._setup_users(cls.env)
        cls.stack = load_stack()

    def create_mailbox(self, user, email, **values):
        return (
            self.env["mail.mailbox"]
            .with_user(user)
            .create(
                {
                    "email": email,
                    "provider": "imap",
                    "imap_host": "127.0.0.1",
                    **values,
                }
            )
        )


def configure_stack(env, stack, allow_private_hosts=True):
    """Point the addon at the local mail stack: OAuth apps, emulator endpoints, servers."""
    params = env["ir.config_parameter"].sudo()
    for key, value in stack_parameters(stack, allow_private_hosts).items():
        params.set_param(key, value)


@contextlib.contextmanager
def really_sending():
    """While a test runs, Odoo's ``send_email`` returns before the SMTP conversation
    (``odoo.modules.module.current_test``): lift that for a block, so that Odoo really
    connects, signs in and sends to the local servers, in the test's transaction."""
    from odoo.modules import module

    current = module.current_test
    module.current_test = False
    try:
        yield
    finally:
        module.current_test = current


def flip(stack, switch, **params):
    """Flip a test switch of the OAuth emulators (revoke, outage, throttle, expire, reset)."""
    import requests

    answer = requests.post(f"{stack['switches']}/{switch}", data=params, timeout=5)
    answer.raise_for_status()
    return answer.json()


def sync_until_done(mailbox, rounds=20):
    """Sync rounds of ``mailbox`` as the cron runs them, until it is up to date; returns
    how many ran."""
    for done in range(1, rounds + 1):
        mailbox.invalidate_recordset()
        claimed = mailbox._claim_sync(ids=mailbox.ids, limit=1)
        if claimed != mailbox:
            raise AssertionError(f"{mailbox.email} could not be claimed for a sync")
        if not claimed._sync_round():
            return done
    raise AssertionError("the sync never ended")


class StackMixin:
    """Skip (loudly) when the local mail stack is not running; configure the addon for it.

    ``imap_server`` is the stack's IMAP server the custom mailboxes and the test's own
    IMAP sessions use ("dovecot", "cyrus" or "plain"; SMTP stays Dovecot's)."""

    imap_server = "dovecot"

    @classmethod
    def _require_stack(cls):
        cls.stack = load_stack()
        if not cls.stack:
            raise unittest.SkipTest("the local mail stack is not running: use `make test`")
        missing = imap_server_missing(cls.stack, cls.imap_server)
        if missing:
            raise unittest.SkipTest(missing)
        return cls.stack

    @classmethod
    def _setup_stack(cls, env):
        configure_stack(env, cls._require_stack())

    @property
    def imap_port(self):
        return imap_server(self.stack, self.imap_server)["imap_port"]

    def custom_values(self, address, **values):
        # also called on the class (``cls.custom_values(cls, …)`` in setUpClass): no property here
        port = imap_server(self.stack, self.imap_server)["imap_port"]
        return custom_mailbox_values(self.stack, address, **{"imap_port": port, **values})


def odoo_shell_command(dbname):
    """The command line of a second, real Odoo process (``odoo shell``) on ``dbname``,
    with this run's configuration; the script comes on its standard input."""
    import sys

    from odoo.tools import config

    return [
        sys.executable,
        "-m",
        "odoo",
        "shell",
        f"--addons-path={config['addons_path']}",
        "-c",
        config.rcfile,
        "-d",
        dbname,
        "--no-http",
        "--log-level=warn",
    ]


def received_all(testcase, subject):
    """Every message with ``subject`` that reached the SMTP sink so far."""
    import email
    import glob

    found = []
    for path in sorted(glob.glob(os.path.join(testcase.stack["sink_folder"], "*.eml"))):
        with open(path, "rb") as fh:
            message = email.message_from_bytes(fh.read())
        if message["Subject"] == subject:
            found.append(message)
    return found


def received(testcase, subject, timeout=15):
    """The message with ``subject`` that reached the SMTP sink (waits for it)."""
    import email
    import glob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in glob.glob(os.path.join(testcase.stack["sink_folder"], "*.eml")):
            with open(path, "rb") as fh:
                message = email.message_from_bytes(fh.read())
            if message["Subject"] == subject:
                return message
        time.sleep(0.1)
    testcase.fail(f"nothing with the subject {subject!r} reached the SMTP server")


@contextlib.contextmanager
def captured_logs():
    """Every log line written meanwhile, at every level (to prove no secret is logged)."""
    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(f"{record.name}: {self.format(record)}")

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class BrowserPageMixin:
    """A page driven by hand in Chromium: evaluate, wait for what it shows, run a tour on it."""

    screenshot_prefix = "sc_mcm_wait_"

    def evaluate(self, browser, expression):
        answer = browser._websocket_request(
            "Runtime.evaluate", params={"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        return answer["result"].get("value")

    def wait_for(self, browser, expression, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            check = f"(() => {{ try {{ return !!({expression}); }} catch (e) {{ return false; }} }})()"
            with contextlib.suppress(ChromeBrowserException):  # asked while the page navigates: ask again
                if self.evaluate(browser, check):
                    return
            time.sleep(0.2)
        browser.take_screenshot(prefix=self.screenshot_prefix)
        self.fail(f"{what}: still not true after {timeout} s ({self.evaluate(browser, 'location.href')})")

    def run_tour(self, browser, tour):
        browser._result = Future()
        browser.had_failure = False
        self.assertTrue(browser._wait_ready(f"odoo.isTourReady({tour!r})"), f"tour {tour} never got ready")
        options = {"stepDelay": 0, "keepWatchBrowser": False, "debug": False, "redirect": False}
        browser._wait_code_ok(f"odoo.startTour({tour!r}, {json.dumps(options)})", 60)


class OAuthSignInMixin:
    """Google and Microsoft sign-in as a browser does it: Connect through the web
    client's RPC, the emulator's consent page, then Odoo's callback (HttpCase only)."""

    def start(self, user, provider, address):
        """Create the mailbox and click Connect through the web client's RPC; returns (mailbox, URL)."""
        mailbox = self.env["mail.mailbox"].with_user(user).create({"email": address, "provider": provider})
        self.authenticate(user.login, self.password(user.login))
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {"model": "mail.mailbox", "method": "action_connect", "args": [[mailbox.id]], "kwargs": {}},
        )
        self.assertEqual(action["type"], "ir.actions.act_url")
        return mailbox, action["url"]

    def ca(self, provider):
        return self.stack["microsoft"]["ca_bundle"] if provider == "microsoft" else None

    def come_back(self, callback):
        """Follow the provider's redirect to Odoo's callback, as the browser would."""
        split = urllib.parse.urlsplit(callback)
        self.assertEqual(f"{split.scheme}://{split.netloc}", self.base_url())
        return self.url_open(f"{split.path}?{split.query}", allow_redirects=False)

    def connect(self, user, provider, address, signed_in=None, **consent):
        import requests

        from ..devstack.oauth_emulator import answer_consent

        mailbox, url = self.start(user, provider, address)
        page = requests.get(url, timeout=10, verify=self.ca(provider) or True)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Allow", page.text)
        callback = answer_consent(url, signed_in or address, ca_file=self.ca(provider), **consent)
        return mailbox, self.come_back(callback)


class StackHttpMixin(StackMixin, MailboxUsersMixin):
    """HttpCase with the users, the local mail stack, Odoo's own URL as the redirect
    base, and the emulators reset after each test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_users(cls.env)
        cls._setup_stack(cls.env)
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", cls.base_url())

    def setUp(self):
        super().setUp()
        self.addCleanup(flip, self.stack, "reset")


class OdooProcessesMixin:
    """Real second Odoo processes (``odoo shell``) on this test's database, with data
    committed for them (and removed afterwards by the test's cleanup)."""

    @contextlib.contextmanager
    def committed(self):
        from odoo import SUPERUSER_ID, api

        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {"mail_create_nolog": True, "mail_notrack": True})

    def odoo_process(self, script, options=()):
        """Start ``odoo shell`` with ``script`` on its standard input (``options``: more of
        Odoo's command-line options, e.g. another database server); return the process."""
        import subprocess

        process = subprocess.Popen(
            [*odoo_shell_command(self.env.cr.dbname), *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        process.stdin.write(script)
        process.stdin.close()
        return process

    def start_together(self, gate, scripts):
        """Start one process per script; each script first waits on the advisory lock
        ``gate`` (``GATE_PRELUDE``), released once all of them wait: they start at once."""
        with self.registry.cursor() as cr:
            cr.execute("SELECT pg_advisory_lock(%s)", [gate])
            processes = [self.odoo_process(GATE_PRELUDE.format(gate=gate) + script) for script in scripts]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                cr.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND NOT granted", [gate]
                )
                if cr.fetchone()[0] == len(scripts):
                    break
                time.sleep(0.2)
            else:
                self.fail("the Odoo processes never reached the gate")
            cr.execute("SELECT pg_advisory_unlock(%s)", [gate])
            # a cursor of its own, not the test's: the waiting processes must see the release
            cr.commit()  # pylint: disable=invalid-commit
        return processes

    def finished(self, process, timeout=300):
        """Wait for ``process``; fail with its error output unless it ended well; its output."""
        process.wait(timeout=timeout)
        out, err = process.stdout.read(), process.stderr.read()
        self.assertEqual(process.returncode, 0, err[-2000:])
        return out


GATE_PRELUDE = """
env.cr.execute("SELECT pg_advisory_lock_shared(%s)", [{gate}])
env.cr.execute("SELECT pg_advisory_unlock_shared(%s)", [{gate}])
env.cr.commit()
"""
