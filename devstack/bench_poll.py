"""Polling at a network's distance: ``MCM_BENCH_POLL_COUNT`` mailboxes (default 1,000,
one Dovecot account and three folders each, synced once: nothing new) behind the
stack's proxy adding 25 ms each way (RTT +50 ms, a server across the network), polled
by the cron's own method, today's way (one command at a time, 4 mailboxes at once, on
the first ``MCM_BENCH_POLL_BASELINE`` mailboxes, default 250: the rate is what it is
compared on) and the addon's (commands sent together, the settings' defaults), in the
same run. Prints ``bench:`` lines:

* ``poll_mailboxes_per_s_at_50ms`` (goal: at least 85, 10,000 mailboxes within the
  2 minutes between polls) and ``…_baseline``, with their ratio;
* ``poll_roundtrips_per_mailbox`` (goal: at most 4) and ``…_baseline``: the times a
  client waited for the server, counted at the proxy (the greeting, then each command
  or group of commands sent together).

Run by ``make bench`` (``devstack.bench``), or alone: ``python3 -m devstack.bench_poll``.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from . import benchkit
from .odoo_env import ROOT
from .tcp_proxy import Proxy

DATABASE = "mcm_bench_poll"
COUNT = int(os.environ.get("MCM_BENCH_POLL_COUNT", "1000"))
BASELINE = min(COUNT, int(os.environ.get("MCM_BENCH_POLL_BASELINE", "250")))
DELAY = 0.025  # seconds each way


def accounts(count=COUNT):
    """The poll mailboxes' Dovecot accounts (address: password)."""
    return {f"poll{n}@mail.test": f"poll-{n}" for n in range(count)}


def add_accounts(info, count=COUNT):
    """Add :func:`accounts` to the running Dovecot (its passwd-file is read at each
    sign-in; the other servers of the stack are left alone)."""
    path = info["dovecot_users"]
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    known = {line.partition(":")[0] for line in lines}
    lines += [
        f"{address}:{{PLAIN}}{password}::::::" for address, password in accounts(count).items() if address not in known
    ]
    temporary = path + ".new"
    with open(temporary, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.chmod(temporary, os.stat(path).st_mode)
    os.replace(temporary, path)  # never half a file


def run(info, conf, database, env):
    """The polling figures on a database with the addon and the stack ``info`` describes;
    returns the exit code of the Odoo runs."""
    add_accounts(info)
    out = tempfile.mkdtemp(prefix="mcm-bench-poll-")
    results_path = os.path.join(out, "results.json")
    code = 0
    with Proxy(info["imap_port"], delay=DELAY) as proxy:
        env = dict(
            env,
            MCM_BENCH_RESULTS=results_path,
            MCM_BENCH_POLL_COUNT=str(COUNT),
            MCM_BENCH_POLL_PORT=str(proxy.port),
        )
        with open(os.path.join(ROOT, "devstack", "bench_poll_odoo.py"), encoding="utf-8") as fh:
            script = fh.read()
        trips = {}
        for phase, count in (("setup", COUNT), ("baseline", BASELINE), ("ours", COUNT)):
            if phase != "setup":
                print(f"bench: polling {count} mailboxes through the proxy, {phase}…", flush=True)
            counter = proxy.round_trips()
            done = subprocess.run(
                [sys.executable, "-m", "odoo", "shell", "-c", conf, "-d", database, "--no-http", "--log-level=warn"],
                input=script,
                text=True,
                env=dict(env, MCM_BENCH_POLL_PHASE=phase, MCM_BENCH_POLL_PASS=str(count)),
                check=False,
            )
            proxy.wait_closed()
            trips[phase] = (counter.total, counter.connections)
            code = code or done.returncode
            if done.returncode:
                break
    if code:
        shutil.rmtree(out, ignore_errors=True)
        return code
    with open(results_path, encoding="utf-8") as fh:
        results = json.load(fh)
    shutil.rmtree(out, ignore_errors=True)
    rates = {}
    for phase, suffix in (("ours", ""), ("baseline", "_baseline")):
        seconds, count = results[f"poll_{phase}_s"], results[f"poll_{phase}_count"]
        rates[phase] = count / seconds
        total, connections = trips[phase]
        print(
            f"bench: poll_mailboxes_per_s_at_50ms{suffix} = {rates[phase]:.1f} "
            f"({count} mailboxes with nothing new in {seconds:.1f} s)",
            flush=True,
        )
        print(
            f"bench: poll_roundtrips_per_mailbox{suffix} = {total / max(1, connections):.2f} "
            f"({total} round trips over {connections} connections)",
            flush=True,
        )
    print(f"bench: poll_speedup = {rates['ours'] / rates['baseline']:.1f} x (against the baseline)", flush=True)
    return 0


def main():
    with benchkit.standalone("mcm-bench-poll-") as (stack, conf, env):
        benchkit.create_database(conf, DATABASE, env)
        return run(stack.info(), conf, DATABASE, env)


if __name__ == "__main__":
    sys.exit(main())
