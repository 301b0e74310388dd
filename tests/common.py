"""Fixtures of the Odoo tier: users of each kind and the local mail stack's facts."""

import json
import os

from odoo.tests import TransactionCase, new_test_user

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
    """Two salespeople (Ann and Ben) and a Settings administrator (Ada)."""

    @classmethod
    def _setup_users(cls, env):
        cls.user_ann = new_test_user(
            env,
            login="mcm_ann",
            name="Ann Seller",
            email="ann@example.com",
            password=cls.password("mcm_ann"),
            groups="base.group_user",
        )
        cls.user_ben = new_test_user(
            env,
            login="mcm_ben",
            name="Ben Seller",
            email="ben@example.com",
            password=cls.password("mcm_ben"),
            groups="base.group_user",
        )
        cls.user_ada = new_test_user(
            env,
            login="mcm_ada",
            name="Ada Admin",
            email="ada@example.com",
            password=cls.password("mcm_ada"),
            groups="base.group_user,base.group_system",
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
