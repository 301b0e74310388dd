"""The health cron in one Odoo process and "Check now" on every mailbox in another,
at the same time, against one database: each mailbox is checked once, and each lost
mailbox is alerted once. Real processes (``odoo shell``), real committed data (cleaned
up), the local Dovecot; both start together behind a PostgreSQL advisory lock."""

import secrets

from odoo.tests import TransactionCase, tagged

from ..devstack.testkit import set_account_password, stack_parameters
from .common import OdooProcessesMixin, StackMixin, configure_stack, custom_mailbox_values

GATE = 715_001  # advisory lock id: both processes wait on it, then start together
COUNT = 12
ALICE = "alice@mail.test"

SCRIPT = """
boxes = env["mail.mailbox"].browse({ids})
{call}
env.cr.commit()
"""


@tagged("post_install", "-at_install")
class TestHealthTwoProcesses(StackMixin, OdooProcessesMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._require_stack()

    def setUp(self):
        super().setUp()
        tag = secrets.token_hex(3)
        with self.committed() as env:
            params = env["ir.config_parameter"]
            before = {key: params.get_param(key) for key in stack_parameters(self.stack)}
            configure_stack(env, self.stack)
            boxes = env["mail.mailbox"]
            for n in range(COUNT):
                # half sign in as Alice (whose password is about to change), half as Bob
                login = ALICE if n % 2 == 0 else "bob@mail.test"
                values = custom_mailbox_values(self.stack, f"two-{tag}-{n}@custom.test", login=login)
                values["password"] = self.stack["accounts"][login]
                box = env["mail.mailbox"].create(values)
                box._set_state("connected")
                boxes |= box
            boxes.write({"next_check_at": False})
            self.ids = boxes.ids
        self.addCleanup(self.cleanup, before)
        old = set_account_password(self.stack, ALICE, "changed-" + tag)
        self.addCleanup(set_account_password, self.stack, ALICE, old)

    def cleanup(self, before):
        with self.committed() as env:
            env["mail.mail"].search([("subject", "like", "is disconnected from Odoo")]).unlink()
            env["mail.mailbox"].browse(self.ids).unlink()
            for key, value in before.items():
                env["ir.config_parameter"].set_param(key, value or False)

    def test_cron_and_check_now_at_once_check_each_mailbox_once(self):
        scripts = [
            SCRIPT.format(ids=self.ids, call="env['mail.mailbox']._cron_check_health()"),
            SCRIPT.format(ids=self.ids, call="boxes.sudo().action_bulk_check()"),
        ]
        for process in self.start_together(GATE, scripts):
            self.finished(process)
        with self.committed() as env:
            logs = env["mail.mailbox.health.log"].search([("mailbox_id", "in", self.ids)])
            per_box = {box_id: 0 for box_id in self.ids}
            for log in logs:
                per_box[log.mailbox_id.id] += 1
            self.assertEqual(set(per_box.values()), {1}, per_box)  # each checked once
            boxes = env["mail.mailbox"].browse(self.ids)
            lost = boxes.filtered(lambda b: b.state == "auth_lost")
            self.assertEqual(len(lost), COUNT // 2)
            for box in lost:
                alerts = env["mail.mail"].search([("subject", "=", f"{box.email} is disconnected from Odoo")])
                self.assertEqual(len(alerts), 1, box.email)
