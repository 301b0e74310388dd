"""``make bench``: speed figures measured in one run against the local servers, each
with its baseline measured in the same run (the machines are noisy): ``bench:`` lines.

* ``send_500_s``: Odoo's own ``mail.mail.send()`` of 500 messages through a connected
  Google-like mailbox (XOAUTH2 with the cached token, routing and held-mail checks);
* ``send_500_odoo_s``: the same 500 through a stock ``ir.mail_server`` with a password,
  to the same SMTP server;
* ``send_vs_odoo``: their ratio (goal: at most 1.2);
* ``health_40_one_by_one_s`` / ``health_40_8_at_once_s`` / ``health_speedup``: the
  access check of 40 mailboxes (IMAP login + SMTP AUTH on Dovecot), sequential
  baseline against the scheduled check's concurrent run;
* ``health_100_wall`` / ``health_1000_wall`` and ``…_queries_per_mailbox``: the
  scheduled check of 100 and 1,000 mailboxes (Google-like, Microsoft-like and
  password ones) in Odoo, as the cron runs it (goal: under 20 s for 1,000, and no
  more queries per mailbox at 1,000 than at 100);
* sync (``MCM_BENCH_SYNC_COUNT`` messages of about 5 KB over 60 days, default
  10,000, in one Dovecot INBOX): ``floor_msgs_per_s`` (imapclient, the standard
  library's parser and one bulk INSERT per batch into a plain table: the least any
  backfill must do), ``backfill_msgs_per_s`` (the addon's sync in Odoo, as the cron
  runs it), ``fetchmail_msgs_per_s`` (Odoo's own ``fetchmail.server`` making a CRM
  lead of each of ``MCM_BENCH_FETCHMAIL_COUNT`` messages, default 1,000, of the same
  kind), ``backfill_vs_fetchmail`` (fetchmail's time per message ÷ ours; goal: at
  least 10), ``backfill_vs_floor`` (our time ÷ the floor's for the same messages;
  goal: at most 3), ``noop_sync_ms`` / ``noop_sync_roundtrips`` (a sync with nothing
  new, at 1,000 then 10,000 messages; goal: under 100 ms, at most 3 round trips per
  folder), ``one_new_message_sync_ms`` and ``one_new_vs_noop`` (a sync after one new
  message of the 10,000-message mailbox against one with nothing new; a second pair
  with archive in Odoo followed, which settles the whole mailbox) and ``backfill_peak_rss_mb`` (goal: under 300);
* ``poll_mailboxes_per_s_at_50ms`` / ``poll_roundtrips_per_mailbox`` and their
  baselines: a polling pass of 1,000 mailboxes with nothing new behind a proxy adding
  25 ms each way (``devstack.bench_poll``);
* ``scale_out_speedup``: the same pass as OCA ``queue_job`` jobs run by two Odoo
  processes against one (``devstack.bench_jobs``).
* ``health_1000_wall_at_50ms_s``, ``new_mail_latency_p50_s`` / ``…_p95_s``,
  ``listener_process_rss_mb`` and ``listener_rss_mb_per_1000``, with their baselines:
  the access check, the listener and polling behind the proxy (``devstack.bench_realtime``);
* ``bounce_read_ordinary_*`` / ``bounce_read_corpus_*``: reading bounces in synced mail
  against the parse it rides on (``devstack.bench_feedback``).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from . import bench_feedback, bench_jobs, bench_poll, bench_realtime
from .bench_sync_baselines import floor
from .bench_sync_data import populate
from .odoo_env import ADDON, ROOT, odoo_cmd, odoo_status, write_config
from .pg import PostgresCluster
from .stack import TEST_ACCOUNTS, MailStack
from .util import free_port

DATABASE = "mcm_bench"
SYNC_COUNT = int(os.environ.get("MCM_BENCH_SYNC_COUNT", "10000"))
FETCHMAIL_COUNT = int(os.environ.get("MCM_BENCH_FETCHMAIL_COUNT", "1000"))
SYNC_ACCOUNTS = {"1000": "sync1k@mail.test", str(SYNC_COUNT): "sync10k@mail.test"}
FETCHMAIL_ACCOUNT = "gateway@mail.test"


def main():
    ok, reason = odoo_status()
    if not ok:
        sys.exit(f"{reason}: install Odoo 18 first (README.md, section Install).")
    bench_feedback.run()
    out = tempfile.mkdtemp(prefix="mcm-bench-")
    os.chmod(out, 0o711)  # the services run as an unprivileged user
    pg = stack = None
    try:
        pg = PostgresCluster(os.path.join(out, "pg")).start()
        accounts = dict(TEST_ACCOUNTS)
        accounts.update(
            {address: "bench-" + address.split("@")[0] for address in [*SYNC_ACCOUNTS.values(), FETCHMAIL_ACCOUNT]}
        )
        stack = MailStack(os.path.join(out, "stack"), accounts=accounts).start()
        from . import bench_health

        bench_health.run(stack.info())
        conf = write_config(out, pg.settings, free_port())
        env = dict(os.environ, MCM_TEST_STACK=stack.info_path)
        print(f"bench: creating a database with {ADDON} (about 30 s)…", flush=True)
        subprocess.run(
            odoo_cmd(conf, DATABASE, "-i", ADDON, "--stop-after-init", "--without-demo=all", "--log-level=warn"),
            check=True,
            env=env,
        )
        info = stack.info()
        for size, address in SYNC_ACCOUNTS.items():
            print(f"bench: appending {size} messages to {address} (setup, not timed)…", flush=True)
            populate(info["host"], info["imap_port"], address, accounts[address], int(size))
        results_path = os.path.join(out, "results.json")
        big = SYNC_ACCOUNTS[str(SYNC_COUNT)]
        target = {**pg.settings, "db_name": DATABASE}
        floor(info["host"], info["imap_port"], big, accounts[big], target)  # warms Dovecot's caches up, not timed
        seconds, count = floor(info["host"], info["imap_port"], big, accounts[big], target)
        print(f"bench: floor_{count}_s = {seconds:.2f} s", flush=True)
        print(f"bench: floor_msgs_per_s = {count / seconds:.0f}", flush=True)
        results = {"floor_s": seconds, "floor_count": count}
        env.update(
            MCM_BENCH_RESULTS=results_path,
            MCM_BENCH_SYNC_ACCOUNTS=json.dumps({"1000": SYNC_ACCOUNTS["1000"], "10000": big}),
            MCM_BENCH_FETCHMAIL_ACCOUNT=FETCHMAIL_ACCOUNT,
            MCM_BENCH_FETCHMAIL_COUNT=str(FETCHMAIL_COUNT),
        )
        code = 0
        for name in ("bench_send.py", "bench_health_odoo.py", "bench_sync_odoo.py", "bench_fetchmail_odoo.py"):
            with open(os.path.join(ROOT, "devstack", name), encoding="utf-8") as fh:
                script = fh.read()
            done = subprocess.run(
                [sys.executable, "-m", "odoo", "shell", "-c", conf, "-d", DATABASE, "--no-http", "--log-level=warn"],
                input=script,
                text=True,
                env=env,
                check=False,
            )
            code = code or done.returncode
        with open(results_path, encoding="utf-8") as fh:
            results.update(json.load(fh))
        sync_ratios(results)
        code = bench_poll.run(info, conf, DATABASE, env) or code
        code = bench_jobs.run(info, conf, env) or code
        code = bench_realtime.run(info, conf, DATABASE, env) or code
        return code
    finally:
        if stack:
            stack.stop()
        if pg:
            pg.stop()
        shutil.rmtree(out, ignore_errors=True)


def sync_ratios(results):
    """The sync's ratios against the baselines measured in this run."""
    ours = results["backfill_s"] / results["backfill_count"]
    if "fetchmail_s" in results:
        theirs = results["fetchmail_s"] / results["fetchmail_count"]
        print(
            f"bench: backfill_vs_fetchmail = {theirs / ours:.1f} x (time per message: fetchmail "
            f"{theirs * 1000:.1f} ms over {results['fetchmail_count']} messages, ours {ours * 1000:.2f} ms)",
            flush=True,
        )
    floor_each = results["floor_s"] / results["floor_count"]
    print(f"bench: backfill_vs_floor = {ours / floor_each:.2f} x (the same {results['floor_count']} messages)")
    for key, words in (("one_new_10000_ms", ""), ("one_new_archive_10000_ms", ", archive in Odoo followed")):
        if key in results:
            print(
                f"bench: one_new_vs_noop = {results[key] / results['noop_10000_ms']:.2f} x "
                f"(a sync after one new message{words}, against one with nothing new, same mailbox)",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
