"""Run inside ``odoo shell`` by ``devstack.bench_poll`` (``env`` is given), one phase per
run (``MCM_BENCH_POLL_PHASE``):

* ``setup``: ``MCM_BENCH_POLL_COUNT`` password mailboxes, one Dovecot account each, three
  folders each (Inbox, Sent, Archive), synced once straight to Dovecot, then pointed at
  the proxy (``MCM_BENCH_POLL_PORT``) with a direct write (as if their server had
  always been there);
* ``baseline`` / ``ours``: a full polling pass with nothing new, as the cron runs it
  (``_cron_sync`` until no mailbox is due; the baseline asks one command at a time with
  4 mailboxes at once, as before; ours with the settings' defaults), of the first
  ``MCM_BENCH_POLL_PASS`` mailboxes. Its seconds and mailboxes go to the JSON file
  ``MCM_BENCH_RESULTS`` names (``poll_<phase>_s``, ``poll_<phase>_count``)."""

import os
import time

from odoo.addons.mail_connected_mailbox.devstack.testkit import bench_stack, custom_mailbox_values, save_bench_results
from odoo.addons.mail_connected_mailbox.models.mail_mailbox import PARAM

PHASE = os.environ["MCM_BENCH_POLL_PHASE"]
COUNT = int(os.environ.get("MCM_BENCH_POLL_COUNT", "1000"))
FOLDERS = (("INBOX", "Inbox"), ("Sent", "Sent"), ("Archive", "Archive"))


def address(n):
    return f"poll{n}@mail.test"


def setup(env, stack):
    Mailbox = env["mail.mailbox"]
    for n in range(COUNT):
        values = custom_mailbox_values(stack, f"poll{n}@custom.test", login=address(n))
        mailbox = Mailbox.create({**values, "password": f"poll-{n}"})
        mailbox._set_state("connected")
        env["mail.mailbox.folder"].create(
            [{"mailbox_id": mailbox.id, "path": path, "name": name, "selected": True} for path, name in FOLDERS]
        )
        if n % 100 == 99:
            env.cr.commit()
    env.cr.commit()
    seconds, count = full_pass(env)
    print(f"bench: poll setup: {count} mailboxes synced once in {seconds:.1f} s (straight to Dovecot)", flush=True)
    env.cr.execute(
        "UPDATE mail_mailbox SET imap_port = %s WHERE email LIKE 'poll%%@custom.test'",
        (int(os.environ["MCM_BENCH_POLL_PORT"]),),
    )
    env.cr.commit()


def full_pass(env, only=None):
    """Every (or the first ``only``) poll mailbox due now, then the cron's method until
    none is due: seconds, mailboxes polled."""
    Mailbox = env["mail.mailbox"]
    boxes = Mailbox.search([("email", "=like", "poll%@custom.test")], order="id", limit=only)
    Mailbox._ensure_sync_rows()  # (the other benches' mailboxes too: they are made not due below)
    env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = now() at time zone 'UTC' + interval '1 hour'")
    env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = NULL WHERE mailbox_id IN %s", (tuple(boxes.ids),))
    env.cr.commit()
    start = time.perf_counter()
    while Mailbox._count_sync_due():
        Mailbox._cron_sync()
        env.cr.commit()  # as the cron does between rounds
    seconds = time.perf_counter() - start
    failed = boxes.filtered(lambda m: m.state != "connected" or m.sync_problem)
    assert not failed, f"{len(failed)} mailboxes failed their poll: {failed[:3].mapped('sync_problem')}"
    troubled = boxes.folder_ids.filtered("sync_problem")
    assert not troubled, f"{len(troubled)} folders failed their poll: {troubled[:3].mapped('sync_problem')}"
    return seconds, len(boxes)


def main(env):
    stack = bench_stack(env)
    params = env["ir.config_parameter"].sudo()
    if PHASE == "setup":
        setup(env, stack)
        return
    baseline = PHASE == "baseline"
    params.set_param(PARAM + "sync_workers", "4" if baseline else False)
    params.set_param(PARAM + "sync_pipelining", "0" if baseline else False)
    env.cr.commit()
    seconds, count = full_pass(env, int(os.environ.get("MCM_BENCH_POLL_PASS") or COUNT))
    save_bench_results({f"poll_{PHASE}_s": seconds, f"poll_{PHASE}_count": count})


main(env)  # noqa: F821 (given by odoo shell)
