"""Run inside ``odoo shell`` by ``devstack.bench`` (``env`` is given): the sync's backfill
of a mailbox of ``MCM_BENCH_SYNC_COUNT`` messages (default 10,000, about 5 KB each, over
60 days) on the local Dovecot, as the cron runs it (rounds of the default budget, a
commit after each); then a sync with nothing new of that mailbox and of one of 1,000
messages (time and IMAP commands), and a sync of the big one after one new message,
with archive in Odoo off (the default) and on (the Inbox membership of the whole
mailbox is then settled). Prints
``bench:`` lines and adds its figures to the JSON file named by ``MCM_BENCH_RESULTS``
(for the ratios ``devstack.bench`` prints)."""

import json
import logging
import os
import resource
import time

from imapclient import IMAPClient

from odoo.addons.mail_connected_mailbox.devstack.testkit import bench_stack, custom_mailbox_values, save_bench_results

ACCOUNTS = json.loads(os.environ["MCM_BENCH_SYNC_ACCOUNTS"])  # {"1000": address, "10000": address}
SIGN_IN = {"LOGIN", "AUTHENTICATE", "CAPABILITY", "LOGOUT"}


class CommandCounter(logging.Handler):
    """Counts the IMAP commands the client sends (imapclient logs each one at DEBUG)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.commands = []

    def emit(self, record):
        text = record.getMessage()
        if text.startswith("> b'"):  # "> b'TAG COMMAND …'"
            words = text[4:].rstrip("'").split()
            if len(words) > 1:
                self.commands.append(words[2].upper() if words[1].upper() == "UID" else words[1].upper())


def mailbox_for(env, stack, address):
    values = custom_mailbox_values(stack, f"bench-{address}", login=address)
    mailbox = env["mail.mailbox"].create({**values, "password": stack["accounts"][address]})
    mailbox._set_state("connected")
    env["mail.mailbox.folder"].create({"mailbox_id": mailbox.id, "path": "INBOX", "name": "Inbox", "selected": True})
    env.cr.commit()
    return mailbox


def backfill(env, mailbox):
    """Rounds as the cron runs them until the mailbox is up to date; seconds, rounds."""
    Mailbox = env["mail.mailbox"]
    start = time.perf_counter()
    rounds = 0
    more = True
    while more:
        Mailbox._ensure_sync_rows()
        claimed = Mailbox._claim_sync(ids=mailbox.ids, limit=1)
        more = claimed._sync_round()
        env.cr.commit()
        rounds += 1
    return time.perf_counter() - start, rounds


def noop(env, mailbox, counter, repeats=5):
    """A sync of an up-to-date mailbox (claim + round): best time of ``repeats``, commands."""
    Mailbox = env["mail.mailbox"]
    best = None
    for _repeat in range(repeats):
        counter.commands.clear()
        start = time.perf_counter()
        claimed = Mailbox._claim_sync(ids=mailbox.ids, limit=1)
        claimed._sync_round()
        seconds = time.perf_counter() - start
        env.cr.commit()
        best = seconds if best is None else min(best, seconds)
    return best, list(counter.commands)


def one_new_message(env, stack, mailbox, address, repeats=3, first=None):
    """A sync after one new message arrived (claim, round, settling): best time of
    ``repeats`` (``first``: one untimed round before, which sets the baseline)."""
    if first:
        env["mail.mailbox"]._claim_sync(ids=mailbox.ids, limit=1)._sync_round()
        env.cr.commit()
    best = None
    with IMAPClient(stack["host"], port=stack["imap_port"], ssl=False, timeout=30) as client:
        client.login(address, stack["accounts"][address])
        for n in range(repeats):
            key = f"<bench-new-{first}-{n}-{time.time()}@customer.test>"
            raw = f"From: a@customer.test\r\nSubject: new {n}\r\nMessage-ID: {key}\r\n\r\nhi\r\n"
            client.append("INBOX", raw.encode())
            start = time.perf_counter()
            env["mail.mailbox"]._claim_sync(ids=mailbox.ids, limit=1)._sync_round()
            seconds = time.perf_counter() - start
            env.cr.commit()
            best = seconds if best is None else min(best, seconds)
    return best


def main(env):
    stack = bench_stack(env)
    results = {}
    sizes = {}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    big = mailbox_for(env, stack, ACCOUNTS["10000"])
    seconds, rounds = backfill(env, big)
    count = env["mail.mailbox.message"].search_count([("mailbox_id", "=", big.id)])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.update(backfill_s=seconds, backfill_count=count)
    print(f"bench: backfill_{count}_s = {seconds:.2f} s ({rounds} rounds of the default budget)", flush=True)
    print(f"bench: backfill_msgs_per_s = {count / seconds:.0f}", flush=True)
    print(
        f"bench: backfill_peak_rss_mb = {rss:.0f} (the whole Odoo process; {rss_before:.0f} MB before the backfill)",
        flush=True,
    )
    small = mailbox_for(env, stack, ACCOUNTS["1000"])
    backfill(env, small)
    sizes[small.id] = env["mail.mailbox.message"].search_count([("mailbox_id", "=", small.id)])
    sizes[big.id] = count
    counter = CommandCounter()
    imap_log = logging.getLogger("imapclient.imaplib")
    imap_log.addHandler(counter)
    imap_log.setLevel(logging.DEBUG)
    imap_log.propagate = False
    try:
        for key, mailbox in (("1000", small), ("10000", big)):
            size = sizes[mailbox.id]
            seconds, commands = noop(env, mailbox, counter)
            folder = [c for c in commands if c not in SIGN_IN]
            print(f"bench: noop_sync_ms = {seconds * 1000:.1f} (a folder of {size} messages, sign-in included)")
            print(
                f"bench: noop_sync_roundtrips = {len(folder)} (a folder of {size}: {' '.join(folder) or 'none'}; "
                f"sign-in and out: {' '.join(c for c in commands if c in SIGN_IN)})",
                flush=True,
            )
            results[f"noop_{key}_ms"] = seconds * 1000
    finally:
        imap_log.removeHandler(counter)
    seconds = one_new_message(env, stack, big, ACCOUNTS["10000"])
    results["one_new_10000_ms"] = seconds * 1000
    print(f"bench: one_new_message_sync_ms = {seconds * 1000:.1f} (a folder of {count} messages)", flush=True)
    big.archive_in_odoo = True  # the whole mailbox is then settled after each change of places
    env.cr.commit()
    seconds = one_new_message(env, stack, big, ACCOUNTS["10000"], first="archive")
    results["one_new_archive_10000_ms"] = seconds * 1000
    print(
        f"bench: one_new_message_sync_ms = {seconds * 1000:.1f} (the same, archive in Odoo followed: the Inbox "
        f"membership of all {count} messages settled)",
        flush=True,
    )
    save_bench_results(results)


main(env)  # noqa: F821 (given by odoo shell)
