"""Real time at a network's distance: every connection through the stack's proxy adding
25 ms each way (RTT +50 ms, a hosted server seen from a data centre), each figure with
its baseline measured in the same run. Prints ``bench:`` lines:

* ``health_1000_wall_at_50ms_s`` (goal: at most 15): the scheduled access check of the
  health bench's 1,000 mailboxes (a third each Google-like, Microsoft-like and password
  ones: token refresh, IMAP login, SMTP AUTH), as the cron runs it, IMAP, submission and
  Google's token endpoint behind proxies (the Microsoft emulator's is not: its sign-in
  library checks the issuer the endpoint names, which a proxy's port would change);
  ``…_baseline_s``: the check as it was (8 at once, claims of 50, LOGOUT and QUIT waited
  for) on the first ``MCM_BENCH_RT_HEALTH_BASELINE`` mailboxes (default 250), scaled to
  1,000;
* ``new_mail_latency_p50_s`` / ``new_mail_latency_p95_s`` (goal: p95 at most 5): 200
  messages (``MCM_BENCH_RT_MESSAGES``) appended, at random moments (0.1 s apart on
  average), to random mailboxes among ``MCM_BENCH_RT_LISTEN_COUNT`` (default 1,000, one
  account each on a Dovecot of the bench's own, its limits raised) held by ONE
  ``odoo-bin mailbox-listen`` process whose every IMAP connection (IDLE and the syncs)
  goes through the proxy; from the APPEND to the record committed in Odoo (watched from
  another database connection, every 20 ms). ``…_polling_baseline``: the same kind of
  deliveries (200, random mailboxes) brought by polling: one pass of the cron's own
  method over the same mailboxes, the time from its start to each record committed
  measured, plus the wait for that pass; deliveries spread evenly over one polling
  interval (``sync_minutes``, 2 minutes as shipped) wait from 0 to 2 minutes for it;
* ``listener_process_rss_mb``: that listener process's memory while it holds them all
  in IDLE, and ``listener_process_rss_mb_per_1000``: what it grew by from its first
  connections in IDLE (Odoo loaded) to all of them, per 1,000; ``listener_rss_mb_per_1000``, ``listener_open_all_s``,
  ``listener_change_p50_s`` / ``…_p95_s``: the listener alone, without Odoo
  (``devstack.bench_listener``, 1,000 idle connections, 10 changes).

Run by ``make bench`` (``devstack.bench``), or alone: ``python3 -m devstack.bench_realtime``
(it makes its own database, and the health bench's 1,000 mailboxes first);
``MCM_BENCH_RT_ONLY=health`` prints the health lines only.
"""

# pylint: disable=print-used

import configparser
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psycopg2
from imapclient import IMAPClient

from . import benchkit
from .dovecot import Dovecot
from .odoo_env import ROOT
from .tcp_proxy import Proxy

DATABASE = "mcm_bench_realtime"
DELAY = 0.025  # seconds each way
HEALTH_BASELINE = int(os.environ.get("MCM_BENCH_RT_HEALTH_BASELINE", "250"))
LISTEN_COUNT = int(os.environ.get("MCM_BENCH_RT_LISTEN_COUNT", "1000"))
MESSAGES = int(os.environ.get("MCM_BENCH_RT_MESSAGES", "200"))
GAP = 0.1  # seconds between two deliveries, on average
POLL_INTERVAL = 120  # seconds: sync_minutes as shipped (every mailbox polled every 2 minutes)
WATCH_EVERY = 0.02  # seconds between two looks at the database
OPEN_TIMEOUT = 600  # seconds the listener has to hold every mailbox


def odoo_shell(conf, database, env, script, **variables):
    with open(os.path.join(ROOT, "devstack", script), encoding="utf-8") as fh:
        code = fh.read()
    done = subprocess.run(
        [sys.executable, "-m", "odoo", "shell", "-c", conf, "-d", database, "--no-http", "--log-level=warn"],
        input=code,
        text=True,
        env=dict(env, **variables),
        check=False,
    )
    return done.returncode


def percentile(values, share):
    values = sorted(values)
    return values[max(0, round(len(values) * share) - 1)]


# -- the access check --------------------------------------------------------------------
def health(info, conf, database, env, results_path):
    """The health lines; returns the exit code of the Odoo runs."""
    http = info["google"]["url"].rpartition(":")[2].rstrip("/")
    with (
        Proxy(info["imap_port"], delay=DELAY) as imap,
        Proxy(info["submission_port"], delay=DELAY) as submission,
        Proxy(int(http), delay=DELAY) as google,
    ):
        proxies = {"imap": imap.port, "submission": submission.port, "google": google.port}
        for phase in ("health_baseline", "health"):
            print(
                f"bench: checking access through the proxies, {'baseline' if 'baseline' in phase else 'ours'}…",
                flush=True,
            )
            code = odoo_shell(
                conf,
                database,
                env,
                "bench_realtime_odoo.py",
                MCM_BENCH_RESULTS=results_path,
                MCM_BENCH_RT_PHASE=phase,
                MCM_BENCH_RT_PROXIES=json.dumps(proxies),
            )
            if code:
                return code
    with open(results_path, encoding="utf-8") as fh:
        results = json.load(fh)
    ours, count = results["health_s"], results["health_count"]
    base, base_count = results["health_baseline_s"], results["health_baseline_count"]
    scaled = base * count / base_count
    print(f"bench: health_{count}_wall_at_50ms_s = {ours:.1f} ({count} mailboxes checked)", flush=True)
    print(
        f"bench: health_{count}_wall_at_50ms_baseline_s = {scaled:.1f} "
        f"({base_count} checked in {base:.1f} s, 8 at once, LOGOUT and QUIT waited for; scaled to {count})",
        flush=True,
    )
    print(f"bench: health_at_50ms_speedup = {scaled / ours:.1f} x (against the baseline)", flush=True)
    return 0


# -- the listener ------------------------------------------------------------------------
def listen_accounts(count=LISTEN_COUNT):
    return {f"listen{n}@mail.test": f"listen-{n}" for n in range(count)}


def database_settings(conf):
    parser = configparser.ConfigParser()
    parser.read(conf)
    options = parser["options"]
    return {
        "host": options.get("db_host"),
        "port": options.get("db_port"),
        "user": options.get("db_user"),
        "password": options.get("db_password"),
    }


class Watcher(threading.Thread):
    """Looks every ``WATCH_EVERY`` seconds, from a connection of its own, for the records
    of the Message-IDs it waits for; notes the wall-clock time each one is first seen."""

    def __init__(self, settings, dbname):
        super().__init__(daemon=True)
        self.connection = psycopg2.connect(dbname=dbname, **settings)
        self.connection.autocommit = True  # each look sees what is committed by then
        self.waiting = set()
        self.seen = {}
        self.lock = threading.Lock()
        self.done = threading.Event()

    def expect(self, message_id):
        with self.lock:
            self.waiting.add(message_id)

    def run(self):
        with self.connection.cursor() as cr:
            while not self.done.is_set():
                with self.lock:
                    waiting = list(self.waiting)
                if waiting:
                    cr.execute(
                        "SELECT message_id_header FROM mail_mailbox_message WHERE message_id_header = ANY(%s)",
                        (waiting,),
                    )
                    now = time.time()
                    with self.lock:
                        for (message_id,) in cr.fetchall():
                            self.seen.setdefault(message_id, now)
                            self.waiting.discard(message_id)
                time.sleep(WATCH_EVERY)
        self.connection.close()

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.waiting:
                    return True
            time.sleep(0.1)
        return False


def deliver(port, accounts, count, gap, watcher=None, seed=19):
    """``count`` messages appended to random accounts' Inboxes, ``gap`` seconds apart on
    average; ``{Message-ID: wall-clock time of its APPEND}``."""
    names = sorted(accounts)
    rng = random.Random(seed)
    sent = {}
    for _n in range(count):
        address = rng.choice(names)
        message_id = f"<{secrets.token_hex(8)}@realtime.bench>"
        if watcher:
            watcher.expect(message_id)
        with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=30) as client:
            client.login(address, accounts[address])
            sent[message_id] = time.time()
            client.append(
                "INBOX",
                f"From: a@b.test\r\nTo: {address}\r\nSubject: new\r\nMessage-ID: {message_id}\r\n\r\nnew mail\r\n",
            )
        if gap:
            time.sleep(rng.expovariate(1 / gap))
    return sent


def idling(counter):
    """Connections that sent IDLE (through the proxy)."""
    return len({number for number, commands in list(counter.trips) if "IDLE" in commands})


def rss_mb(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def listen_command(conf, database):
    parser = configparser.ConfigParser()
    parser.read(conf)
    addons = parser["options"]["addons_path"]
    return [
        sys.executable,
        "-m",
        "odoo",
        f"--addons-path={addons}",
        "mailbox-listen",
        "-c",
        conf,
        "-d",
        database,
        "--log-level=warn",
    ]


def polling_baseline(conf, database, env, variables, port, accounts):
    """The same kind of deliveries brought by one polling pass: each message's time from
    the pass's start to its record, plus the wait for the pass (see the module doc)."""
    print(f"bench: {MESSAGES} messages brought by polling, through the proxy…", flush=True)
    watcher = Watcher(database_settings(conf), database)
    watcher.start()
    sent = deliver(port, accounts, MESSAGES, 0, watcher, seed=1)
    code = odoo_shell(conf, database, env, "bench_realtime_odoo.py", MCM_BENCH_RT_PHASE="listen_poll", **variables)
    watcher.wait(30)
    watcher.done.set()
    if code:
        return code, None
    with open(variables["MCM_BENCH_RESULTS"], encoding="utf-8") as fh:
        results = json.load(fh)
    started, ended = results["listen_poll_started"], results["listen_poll_ended"]
    offsets = sorted(watcher.seen[m] - started for m in sent if m in watcher.seen)
    waits = [POLL_INTERVAL * (k + 0.5) / max(1, len(offsets)) for k in range(len(offsets))]
    random.Random(2).shuffle(waits)
    polled = [wait + offset for wait, offset in zip(waits, offsets, strict=True)]
    return 0, {"polled": polled, "offsets": offsets, "pass_s": ended - started, "sent": len(sent)}


def listening(conf, database, env, proxy, port, accounts, out):
    """One ``odoo-bin mailbox-listen`` holding every listen mailbox through the proxy,
    then the deliveries: what it held, how fast, its memory, the latencies."""
    print(f"bench: one listener holding {LISTEN_COUNT} mailboxes through the proxy…", flush=True)
    counter = proxy.round_trips()
    start = time.monotonic()
    with open(os.path.join(out, "listener.log"), "wb") as log:
        listener = subprocess.Popen(listen_command(conf, database), env=env, stderr=log)
    try:
        first = None  # (connections in IDLE, memory) when the first ones are: Odoo loaded, few held
        while idling(counter) < LISTEN_COUNT and time.monotonic() - start < OPEN_TIMEOUT:
            if listener.poll() is not None:
                raise RuntimeError("the listener stopped")
            held = idling(counter)
            if first is None and held:
                first = (held, rss_mb(listener.pid))
            time.sleep(0.2)
        found = {"opened_s": time.monotonic() - start, "held": idling(counter)}
        time.sleep(2)
        found["rss_mb"] = rss_mb(listener.pid)
        if first and found["held"] > first[0]:
            found["first"] = first
            found["rss_per_1000"] = (found["rss_mb"] - first[1]) * 1000 / (found["held"] - first[0])
        proxy.clear()  # no more counting: the deliveries' timing alone
        watcher = Watcher(database_settings(conf), database)
        watcher.start()
        sent = deliver(port, accounts, MESSAGES, GAP, watcher, seed=3)
        watcher.wait(60)
        watcher.done.set()
        found["latencies"] = [watcher.seen[m] - at for m, at in sent.items() if m in watcher.seen]
        found["sent"] = len(sent)
        return found
    finally:
        if listener.poll() is None:
            listener.terminate()
            try:
                listener.wait(timeout=30)
            except subprocess.TimeoutExpired:
                listener.kill()
                listener.wait()


def report_latency(found, baseline):
    print(
        f"bench: listener_held = {found['held']} of {LISTEN_COUNT} in IDLE through the proxy, "
        f"in {found['opened_s']:.1f} s",
        flush=True,
    )
    print(f"bench: listener_process_rss_mb = {found['rss_mb']:.1f} (the odoo-bin mailbox-listen process)", flush=True)
    if "rss_per_1000" in found:
        held, rss = found["first"]
        print(
            f"bench: listener_process_rss_mb_per_1000 = {found['rss_per_1000']:.1f} "
            f"(from {rss:.1f} MB at {held} connections in IDLE to {found['rss_mb']:.1f} at {found['held']})",
            flush=True,
        )
    latencies = found["latencies"]
    if latencies:
        print(
            f"bench: new_mail_latency_p50_s = {statistics.median(latencies):.2f} "
            f"({len(latencies)} of {found['sent']} in Odoo; one listener, {LISTEN_COUNT} mailboxes)",
            flush=True,
        )
        p95 = percentile(latencies, 0.95)
        print(f"bench: new_mail_latency_p95_s = {p95:.2f} (the slowest: {max(latencies):.2f})", flush=True)
    else:
        print("bench: new_mail_latency_p50_s = none in Odoo within 60 s", flush=True)
    polled = baseline["polled"] if baseline else []
    if polled:
        print(
            f"bench: new_mail_latency_p50_s_polling_baseline = {statistics.median(polled):.1f} "
            f"({len(polled)} of {baseline['sent']} in Odoo; the pass of {LISTEN_COUNT} mailboxes took "
            f"{baseline['pass_s']:.1f} s, the last record {max(baseline['offsets']):.1f} s after its start; "
            f"plus 0 to {POLL_INTERVAL} s until the pass)",
            flush=True,
        )
        print(f"bench: new_mail_latency_p95_s_polling_baseline = {percentile(polled, 0.95):.1f}", flush=True)
    if latencies and polled:
        ratio = percentile(polled, 0.95) / percentile(latencies, 0.95)
        print(f"bench: new_mail_latency_p95_vs_polling = {ratio:.0f} x (polling's ÷ the listener's)", flush=True)


def latency(info, conf, database, env, results_path, out):
    """The new-mail lines; returns the exit code of the Odoo runs."""
    accounts = listen_accounts()
    dovecot = Dovecot(
        os.path.join(out, "dovecot-listen"),
        f"{info['google']['url']}/introspect",
        info["sink_port"],
        accounts,
        connections=LISTEN_COUNT + 200,
    ).start()
    try:
        with Proxy(dovecot.imap_port, delay=DELAY) as proxy:
            variables = {
                "MCM_BENCH_RESULTS": results_path,
                "MCM_BENCH_RT_LISTEN_COUNT": str(LISTEN_COUNT),
                "MCM_BENCH_RT_DOVECOT_PORT": str(dovecot.imap_port),
                "MCM_BENCH_RT_PROXY_PORT": str(proxy.port),
            }
            print(f"bench: connecting {LISTEN_COUNT} listener mailboxes (setup, not timed)…", flush=True)
            code = odoo_shell(
                conf, database, env, "bench_realtime_odoo.py", MCM_BENCH_RT_PHASE="listen_setup", **variables
            )
            if code:
                return code
            code, baseline = polling_baseline(conf, database, env, variables, dovecot.imap_port, accounts)
            found = listening(conf, database, env, proxy, dovecot.imap_port, accounts, out)
        report_latency(found, baseline)
        return code
    finally:
        dovecot.stop()
        odoo_shell(
            conf,
            database,
            env,
            "bench_realtime_odoo.py",
            MCM_BENCH_RT_PHASE="listen_restore",
            MCM_BENCH_RESULTS=results_path,
        )


def standalone_listener():
    """``devstack.bench_listener``'s lines at 1,000 idle connections (its own process:
    it measures its own memory)."""
    done = subprocess.run(
        [sys.executable, "-m", "devstack.bench_listener", "1000", "10"], cwd=ROOT, check=False, env=dict(os.environ)
    )
    return done.returncode


def run(info, conf, database, env):
    """Every line of this module on a database with the addon and the health bench's
    mailboxes; returns the exit code of the Odoo runs."""
    out = tempfile.mkdtemp(prefix="mcm-bench-realtime-")
    os.chmod(out, 0o711)  # the bench's Dovecot runs as an unprivileged user
    results_path = os.path.join(out, "results.json")
    try:
        code = health(info, conf, database, env, results_path)
        if os.environ.get("MCM_BENCH_RT_ONLY") == "health":
            return code
        code = latency(info, conf, database, env, results_path, out) or code
        return standalone_listener() or code
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main():
    with benchkit.standalone("mcm-bench-realtime-") as (stack, conf, env):
        benchkit.create_database(conf, DATABASE, env)
        code = odoo_shell(conf, DATABASE, env, "bench_health_odoo.py", MCM_BENCH_HEALTH_SIZES="1000")
        return code or run(stack.info(), conf, DATABASE, env)


if __name__ == "__main__":
    sys.exit(main())
