"""Run inside ``odoo shell`` by ``devstack.bench`` (``env`` is given): the baseline of
the sync bench that is Odoo 18 itself. Appends ``MCM_BENCH_FETCHMAIL_COUNT`` messages
(500 by default; not timed) of the sync data set to the INBOX of a local Dovecot
account of the stack, then times Odoo's own ``fetchmail.server`` turning each of them
into a CRM lead (``bench_sync_baselines.fetchmail`` says how it is configured). Prints
``bench:`` lines.

The account (``MCM_BENCH_FETCHMAIL_ACCOUNT``, ``carol@mail.test`` by default) must have
no unseen message in its INBOX: Odoo's gateway reads every unseen message there. Its
data set (seed ``MCM_BENCH_FETCHMAIL_SEED``, 1 by default) should differ from the one
the sync imports into the same database: Odoo skips a message whose Message-ID it has
already stored, and would then create no lead for it."""

import json
import os

from odoo.addons.mail_connected_mailbox.devstack.bench_sync_baselines import fetchmail, unseen_count
from odoo.addons.mail_connected_mailbox.devstack.bench_sync_data import populate
from odoo.addons.mail_connected_mailbox.devstack.testkit import save_bench_results

COUNT = int(os.environ.get("MCM_BENCH_FETCHMAIL_COUNT", "500"))
ACCOUNT = os.environ.get("MCM_BENCH_FETCHMAIL_ACCOUNT", "carol@mail.test")
SEED = int(os.environ.get("MCM_BENCH_FETCHMAIL_SEED", "1"))


def main(env):
    with open(os.environ["MCM_TEST_STACK"], encoding="utf-8") as fh:
        stack = json.load(fh)
    host, port, password = stack["host"], stack["imap_port"], stack["accounts"][ACCOUNT]
    left = unseen_count(host, port, ACCOUNT, password)
    if left:
        raise SystemExit(f"bench: {ACCOUNT} already has {left} unseen messages in its INBOX; use another account")
    print(f"bench: appending {COUNT} messages to {ACCOUNT} for Odoo's fetchmail (setup, not timed)…", flush=True)
    populate(host, port, ACCOUNT, password, COUNT, seed=SEED)
    seconds, leads = fetchmail(env, host, port, ACCOUNT, password)
    print(f"bench: fetchmail_{COUNT}_s = {seconds:.2f}", flush=True)
    print(f"bench: fetchmail_msgs_per_s = {COUNT / seconds:.1f} ({leads} leads created)", flush=True)
    if leads != COUNT:
        print(f"bench: warning: fetchmail created {leads} leads for {COUNT} messages", flush=True)
    save_bench_results({"fetchmail_s": seconds, "fetchmail_count": COUNT})


main(env)  # noqa: F821 (given by odoo shell)
