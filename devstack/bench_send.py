"""Run inside ``odoo shell`` by ``devstack.bench`` (``env`` is given): time Odoo's own
``mail.mail.send()`` of the same messages through a connected Google-like mailbox
(XOAUTH2, held-mail and routing checks included) and through a stock ``ir.mail_server``
signing in with a password, both to the same local SMTP server (Dovecot submission).
Prints ``bench:`` lines."""

import json
import os
import statistics
import time

from odoo.addons.mail_connected_mailbox.devstack.testkit import connect_oauth, stack_parameters

COUNT = int(os.environ.get("MCM_BENCH_COUNT", "500"))
ROUNDS = int(os.environ.get("MCM_BENCH_ROUNDS", "3"))
ALICE = "alice@mail.test"


def setup(env, stack):
    params = env["ir.config_parameter"].sudo()
    for key, value in stack_parameters(stack).items():
        params.set_param(key, value)
    address = "bench@gmail.test"
    mailbox = connect_oauth(env, stack, "google", address)
    assert mailbox.state == "connected", mailbox.last_error_cause
    mailbox.send_limit_day = 1_000_000  # the limiter runs (and is timed), but lets every round through
    env["ir.mail_server"].create(
        {
            "name": "Stock server with a password",
            "smtp_host": "127.0.0.1",
            "smtp_port": stack["submission_port"],
            "smtp_encryption": "none",
            "smtp_user": ALICE,
            "smtp_pass": stack["accounts"][ALICE],
            "from_filter": ALICE,
        }
    )
    env.cr.commit()
    return address


def send_once(env, sender, label):
    mails = env["mail.mail"].create(
        [
            {
                "email_from": sender,
                "email_to": f"lead{n}@customer.test",
                "subject": f"{label} {n}",
                "body_html": f"<p>Offer number {n}</p>",
                "auto_delete": False,
            }
            for n in range(COUNT)
        ]
    )
    env.cr.commit()
    start = time.perf_counter()
    mails.send(auto_commit=True)
    elapsed = time.perf_counter() - start
    states = set(mails.mapped("state"))
    assert states == {"sent"}, f"{label}: {states} {mails.mapped('failure_reason')[:3]}"
    mails.unlink()
    env.cr.commit()
    return elapsed


def main(env):
    with open(os.environ["MCM_TEST_STACK"], encoding="utf-8") as fh:
        stack = json.load(fh)
    address = setup(env, stack)
    ours, stock = [], []
    for round_ in range(ROUNDS):  # interleaved, so that a noisy moment hits both
        stock.append(send_once(env, ALICE, f"stock {round_}"))
        ours.append(send_once(env, address, f"mailbox {round_}"))
    ours_s, stock_s = statistics.median(ours), statistics.median(stock)
    print(f"bench: send_{COUNT}_odoo_s = {stock_s:.2f}", flush=True)
    print(f"bench: send_{COUNT}_s = {ours_s:.2f}", flush=True)
    print(f"bench: send_vs_odoo = {ours_s / stock_s:.2f} x", flush=True)
    print(f"bench: rounds = {ROUNDS} (median; all mailbox runs: {', '.join(f'{t:.2f}' for t in ours)})", flush=True)


main(env)  # noqa: F821 (given by odoo shell)
