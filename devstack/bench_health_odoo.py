"""Run inside ``odoo shell`` by ``devstack.bench`` (``env`` is given): the scheduled
access check of 100, then 1,000 mailboxes (a third each Google-like, Microsoft-like
and password mailboxes) against the local stack, as the cron runs it (claims of 50,
8 checks at once, a commit per round). Prints the wall time and the SQL queries per
mailbox for each size."""

import os
import time

from odoo.addons.mail_connected_mailbox.devstack.testkit import bench_stack, connect_oauth, custom_mailbox_values

SIZES = [int(n) for n in os.environ.get("MCM_BENCH_HEALTH_SIZES", "100,1000").split(",")]
ALICE = "alice@mail.test"


def setup(env, stack, count, start):
    """``count`` more mailboxes, numbered from ``start``, all connected."""
    for n in range(start, start + count):
        kind = n % 3
        if kind == 0:
            # every password mailbox signs in as the same Dovecot account
            values = custom_mailbox_values(stack, f"box{n}@custom.test", login=ALICE)
            mailbox = env["mail.mailbox"].create({**values, "password": stack["accounts"][ALICE]})
            mailbox._set_state("connected")
        elif kind == 1:
            connect_oauth(env, stack, "google", f"box{n}@gmail.test", list_folders=False)
        else:
            connect_oauth(env, stack, "microsoft", f"box{n}@contoso.test", list_folders=False)
        if n % 50 == 49:
            env.cr.commit()
    env.cr.commit()


def run_checks(env):
    """Make every mailbox due, then run the health cron's body until none is due."""
    Mailbox = env["mail.mailbox"]
    env.cr.execute("UPDATE mail_mailbox SET next_check_at = NULL WHERE state = 'connected'")
    env.cr.commit()
    count = Mailbox.search_count([("state", "=", "connected")])
    queries = env.cr.sql_log_count
    start = time.perf_counter()
    while Mailbox._count_due():
        Mailbox._cron_check_health()
        env.cr.commit()  # as the cron does between rounds
    wall = time.perf_counter() - start
    queries = env.cr.sql_log_count - queries
    failed = Mailbox.search([("state", "!=", "connected")])
    assert not failed, f"{len(failed)} mailboxes failed their check: {failed[:3].mapped('last_error_cause')}"
    return count, wall, queries / count


def main(env):
    stack = bench_stack(env)
    made = 0
    for size in SIZES:
        print(f"bench: connecting {size - made} more mailboxes (setup, not timed)…", flush=True)
        setup(env, stack, size - made, made)
        made = size
        count, wall, per_mailbox = run_checks(env)  # (count: with the send bench's mailbox)
        print(f"bench: health_{size}_wall = {wall:.2f} s ({count} mailboxes checked)", flush=True)
        print(f"bench: health_{size}_queries_per_mailbox = {per_mailbox:.1f}", flush=True)


main(env)  # noqa: F821 (given by odoo shell)
