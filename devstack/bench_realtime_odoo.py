"""Run inside ``odoo shell`` by ``devstack.bench_realtime`` (``env`` is given), one phase
per run (``MCM_BENCH_RT_PHASE``); seconds and counts go to the JSON file
``MCM_BENCH_RESULTS`` names.

* ``health_baseline`` / ``health``: the scheduled access check, as the cron runs it, of
  the health bench's mailboxes (``box…``: a third each Google-like, Microsoft-like and
  password ones), every connection through the proxies (``MCM_BENCH_RT_PROXIES``: IMAP,
  submission, Google's token endpoint). The baseline: the first
  ``MCM_BENCH_RT_HEALTH_BASELINE`` mailboxes, 8 checks at once, claims of 50, LOGOUT and
  QUIT waited for (as before); ours: all of them with the settings' defaults.
* ``listen_setup``: ``MCM_BENCH_RT_LISTEN_COUNT`` password mailboxes (``listen…``), one
  account each on the listener bench's Dovecot, the Inbox ticked, synced once straight
  to it, then pointed at the proxy; every other mailbox archived meanwhile (the listener
  holds the bench's mailboxes only), their ids kept for ``listen_restore``.
* ``listen_poll``: a polling pass, as the cron runs it (the settings' defaults), of the
  listen mailboxes after the deliveries: the wall-clock time it started and ended.
* ``listen_restore``: the other mailboxes back, the listen ones archived.
"""

# pylint: disable=print-used

import json
import os
import time

from odoo.addons.mail_connected_mailbox.devstack.testkit import bench_stack, custom_mailbox_values, save_bench_results
from odoo.addons.mail_connected_mailbox.models.mail_mailbox import PARAM

PHASE = os.environ["MCM_BENCH_RT_PHASE"]
LISTEN_COUNT = int(os.environ.get("MCM_BENCH_RT_LISTEN_COUNT", "1000"))
HEALTH_BASELINE = int(os.environ.get("MCM_BENCH_RT_HEALTH_BASELINE", "250"))
HEALTH_MAILBOXES = "box%"  # the health bench's (devstack/bench_health_odoo.py)


def listen_address(n):
    return f"listen{n}@mail.test"


# -- the access check --------------------------------------------------------------------
def health(env, stack, baseline):
    proxies = json.loads(os.environ["MCM_BENCH_RT_PROXIES"])
    params = env["ir.config_parameter"].sudo()
    imap, smtp = f"127.0.0.1:{proxies['imap']}:none", f"127.0.0.1:{proxies['submission']}:none"
    for provider in ("google", "microsoft"):
        params.set_param(f"{PARAM}{provider}_imap", imap)
        params.set_param(f"{PARAM}{provider}_smtp", smtp)
    params.set_param(PARAM + "google_token_uri", f"http://127.0.0.1:{proxies['google']}/token")
    params.set_param(PARAM + "health_workers", "8" if baseline else False)
    params.set_param(PARAM + "health_pipelining", "0" if baseline else False)
    env.cr.execute(
        "UPDATE mail_mailbox SET imap_port = %s, smtp_port = %s WHERE email LIKE %s AND provider = 'imap'",
        (proxies["imap"], proxies["submission"], HEALTH_MAILBOXES),
    )
    Mailbox = env["mail.mailbox"]
    env.cr.execute(
        "SELECT id FROM mail_mailbox WHERE email LIKE %s AND active AND state = 'connected' ORDER BY id LIMIT %s",
        (HEALTH_MAILBOXES, HEALTH_BASELINE if baseline else None),
    )
    ids = tuple(row[0] for row in env.cr.fetchall())
    env.cr.execute("UPDATE mail_mailbox SET next_check_at = now() at time zone 'UTC' + interval '1 day'")
    env.cr.execute("UPDATE mail_mailbox SET next_check_at = NULL WHERE id IN %s", (ids,))
    env.cr.commit()
    start = time.perf_counter()
    while Mailbox._count_due():
        Mailbox._cron_check_health()
        env.cr.commit()  # as the cron does between rounds
    wall = time.perf_counter() - start
    failed = Mailbox.browse(ids).filtered(lambda m: m.state != "connected")
    assert not failed, f"{len(failed)} mailboxes failed their check: {failed[:3].mapped('last_error_cause')}"
    key = "health_baseline" if baseline else "health"
    save_bench_results({f"{key}_s": wall, f"{key}_count": len(ids)})


# -- the listener ------------------------------------------------------------------------
def listen_boxes(env):
    return env["mail.mailbox"].search([("email", "=like", "listen%@custom.test")], order="id")


def poll_pass(env, boxes):
    """The cron's method until none of ``boxes`` is due (the others are made not due)."""
    Mailbox = env["mail.mailbox"]
    Mailbox._ensure_sync_rows()
    env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = now() at time zone 'UTC' + interval '1 hour'")
    env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = NULL WHERE mailbox_id IN %s", (tuple(boxes.ids),))
    env.cr.commit()
    started = time.time()
    while Mailbox._count_sync_due():
        Mailbox._cron_sync()
        env.cr.commit()  # as the cron does between rounds
    ended = time.time()
    failed = boxes.filtered(lambda m: m.state != "connected" or m.sync_problem)
    assert not failed, f"{len(failed)} mailboxes failed their poll: {failed[:3].mapped('sync_problem')}"
    return started, ended


def listen_setup(env, stack):
    env.cr.execute("SELECT id FROM mail_mailbox WHERE active AND email NOT LIKE 'listen%%@custom.test'")
    others = [row[0] for row in env.cr.fetchall()]
    env.cr.execute("UPDATE mail_mailbox SET active = false WHERE id = ANY(%s)", (others,))
    save_bench_results({"listen_archived_ids": others})
    port = int(os.environ["MCM_BENCH_RT_DOVECOT_PORT"])
    Mailbox = env["mail.mailbox"].with_context(mail_create_nolog=True, mail_notrack=True, tracking_disable=True)
    for n in range(LISTEN_COUNT):
        values = custom_mailbox_values(stack, f"listen{n}@custom.test", login=listen_address(n), imap_port=port)
        mailbox = Mailbox.create({**values, "password": f"listen-{n}"})
        mailbox._set_state("connected")
        env["mail.mailbox.folder"].create(
            {"mailbox_id": mailbox.id, "path": "INBOX", "name": "Inbox", "selected": True}
        )
        if n % 100 == 99:
            env.cr.commit()
    env.cr.commit()
    started, ended = poll_pass(env, listen_boxes(env))
    print(f"bench: listen setup: {LISTEN_COUNT} mailboxes synced once in {ended - started:.1f} s", flush=True)
    env.cr.execute(
        "UPDATE mail_mailbox SET imap_port = %s WHERE email LIKE 'listen%%@custom.test'",
        (int(os.environ["MCM_BENCH_RT_PROXY_PORT"]),),
    )
    env.cr.execute(  # the listener alone brings new mail (no cron runs in the bench anyway)
        "UPDATE mail_mailbox_sync SET next_sync_at = now() at time zone 'UTC' + interval '1 hour'"
    )
    env.cr.commit()


def main(env):
    stack = bench_stack(env)
    if PHASE in ("health_baseline", "health"):
        health(env, stack, PHASE == "health_baseline")
    elif PHASE == "listen_setup":
        listen_setup(env, stack)
    elif PHASE == "listen_poll":
        started, ended = poll_pass(env, listen_boxes(env))
        save_bench_results({"listen_poll_started": started, "listen_poll_ended": ended})
    elif PHASE == "listen_restore":
        with open(os.environ["MCM_BENCH_RESULTS"], encoding="utf-8") as fh:
            others = json.load(fh).get("listen_archived_ids", [])
        env.cr.execute("UPDATE mail_mailbox SET active = false WHERE email LIKE 'listen%%@custom.test'")
        env.cr.execute("UPDATE mail_mailbox SET active = true WHERE id = ANY(%s)", (others,))
        env.cr.commit()


main(env)  # noqa: F821 (given by odoo shell)
