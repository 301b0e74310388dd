"""More machines: the polling pass of ``devstack.bench_poll`` (``MCM_BENCH_JOBS_COUNT``
mailboxes, default 1,000, nothing new, behind the stack's proxy adding 25 ms each way)
run as OCA ``queue_job`` jobs, by one Odoo process, then by two (Odoo in prefork mode
with 1 and 2 workers, ``queue_job``'s runner sending the jobs of the channel
``root.mailbox``, of capacity 1 and 2), on a database with ``queue_job`` installed.
A pass is timed from the first job started to the last one done (as the jobs
recorded them): the processes' start, and the job runner's (5 s after), are not counted. Prints ``bench:`` lines:

* ``jobs_pass_1_process_s`` / ``jobs_pass_2_processes_s`` (with their mailboxes a second);
* ``scale_out_speedup`` (goal: at least 1.8): the one process's time ÷ the two's;
* ``jobs_pass_cron_s``: the same pass by the cron's method in one process, without jobs.

Each pass line says the CPU the Odoo processes used and the machine's load.

Both processes share the machine's cores with PostgreSQL, Dovecot and the proxy: where
those are busy, the second process has less than a core of its own (the line says how
many cores the machine has).

Run by ``make bench`` (``devstack.bench``), or alone: ``python3 -m devstack.bench_jobs``.
"""

import configparser
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

import psutil
import psycopg2

from . import bench_poll, benchkit, queue_job
from .odoo_env import ADDON, ROOT, odoo_cmd
from .tcp_proxy import Proxy
from .util import free_port, wait_port

DATABASE = "mcm_bench_jobs"
COUNT = int(os.environ.get("MCM_BENCH_JOBS_COUNT", "1000"))

CRONS_ONLY = """
env["ir.config_parameter"].sudo().set_param("mail_connected_mailbox.use_queue_job", "0")
env.cr.commit()
"""

# the poll mailboxes due, the others not; then the cron, which only enqueues with queue_job
ENQUEUE = """
params = env["ir.config_parameter"].sudo()
params.set_param("mail_connected_mailbox.use_queue_job", False)
Mailbox = env["mail.mailbox"]
boxes = Mailbox.search([("email", "=like", "poll%@custom.test")], order="id", limit={count})
Mailbox._ensure_sync_rows()
env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = now() at time zone 'UTC' + interval '1 hour'")
env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = NULL WHERE mailbox_id IN %s", (tuple(boxes.ids),))
Mailbox._cron_sync()
env.cr.commit()
"""

# the same pass by the cron's method, jobs off (then on again)
CRON_PASS = """
import time
params = env["ir.config_parameter"].sudo()
params.set_param("mail_connected_mailbox.use_queue_job", "0")
Mailbox = env["mail.mailbox"]
boxes = Mailbox.search([("email", "=like", "poll%@custom.test")], order="id", limit={count})
Mailbox._ensure_sync_rows()
env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = now() at time zone 'UTC' + interval '1 hour'")
env.cr.execute("UPDATE mail_mailbox_sync SET next_sync_at = NULL WHERE mailbox_id IN %s", (tuple(boxes.ids),))
env.cr.commit()
start = time.perf_counter()
while Mailbox._count_sync_due():
    Mailbox._cron_sync()
    env.cr.commit()
print("CRON", time.perf_counter() - start)
params.set_param("mail_connected_mailbox.use_queue_job", False)
env.cr.commit()
"""

# the pass's jobs (made after ``{last}``): seconds from the first started to the last done,
# jobs not done, mailboxes synced, the processes that ran them
MEASURE = """
env.cr.execute(
    "SELECT extract(epoch FROM max(date_done) - min(date_started)), count(*) FILTER (WHERE state != 'done'), "
    "count(DISTINCT worker_pid) FROM queue_job WHERE id > %s", ({last},))
seconds, not_done, processes = env.cr.fetchone()
env.cr.execute("SELECT result FROM queue_job WHERE id > %s AND state = 'done'", ({last},))
synced = sum(len([i for i in (row[0] or "").removeprefix("synced: ").split(",") if i]) for row in env.cr.fetchall())
failed = env["mail.mailbox"].search([("email", "=like", "poll%@custom.test"), ("state", "!=", "connected")])
print("MEASURED", seconds, not_done, synced, processes, len(failed))
"""


def shell(conf, env, script):
    done = subprocess.run(
        [sys.executable, "-m", "odoo", "shell", "-c", conf, "-d", DATABASE, "--no-http", "--log-level=warn"],
        input=script,
        text=True,
        capture_output=True,
        env=env,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return done.stdout


def sql(conf, query):
    """The first row of ``query`` on the bench's database, with the settings of ``conf``."""
    parser = configparser.ConfigParser()
    parser.read(conf)
    options = parser["options"]
    with (
        contextlib.closing(
            psycopg2.connect(
                dbname=DATABASE,
                host=options["db_host"],
                port=options["db_port"],
                user=options["db_user"],
                password=options.get("db_password", ""),
            )
        ) as connection,
        connection.cursor() as cr,
    ):
        cr.execute(query)
        return cr.fetchone()


def cpu_seconds(pid):
    """CPU seconds used so far by a process and its children alive (Odoo's workers)."""
    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = each.cpu_times()
            total += times.user + times.system
    return total


def cron_pass(conf, env):
    """The same pass by the cron's method in one process, jobs off: seconds."""
    out = shell(conf, env, CRON_PASS.format(count=COUNT))
    (line,) = [line for line in out.splitlines() if line.startswith("CRON ")]
    seconds = float(line.split()[1])
    print(
        f"bench: jobs_pass_cron_s = {seconds:.1f} ({COUNT / seconds:.1f} a second: the same pass by the cron's "
        f"method in one process, without jobs; load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return seconds


def one_pass(conf, env, workers, folder):
    """The polling pass as jobs run by ``workers`` Odoo processes: (seconds, mailboxes synced)."""
    (last,) = sql(conf, "SELECT coalesce(max(id), 0) FROM queue_job")
    port = free_port()
    with open(os.path.join(folder, f"jobs-{workers}.log"), "w", encoding="utf-8") as log:
        server = queue_job.server(conf, DATABASE, workers, port, env=env, log=log)
        try:
            wait_port(port, timeout=120, proc=server)
            cpu = cpu_seconds(server.pid)
            shell(conf, env, ENQUEUE.format(count=COUNT))
            deadline = time.monotonic() + 1800
            while sql(conf, queue_job.UNSETTLED)[0]:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the job server stopped or took too long: see {log.name}")
                time.sleep(0.5)
            cpu = cpu_seconds(server.pid) - cpu
            load = os.getloadavg()[0]
        finally:
            queue_job.stop(server)
    (line,) = [line for line in shell(conf, env, MEASURE.format(last=last)).splitlines() if line.startswith("MEASURED")]
    seconds, not_done, synced, processes, failed = (float(x) for x in line.split()[1:])
    if not_done or failed or synced != COUNT:
        raise RuntimeError(f"{int(not_done)} jobs not done, {int(failed)} mailboxes failed, {int(synced)} synced")
    print(
        f"bench: jobs_pass_{workers}_process{'es' if workers > 1 else ''}_s = {seconds:.1f} "
        f"({int(synced)} mailboxes, {synced / seconds:.1f} a second, jobs run by {int(processes)} processes; "
        f"the Odoo processes used {cpu:.1f} CPU seconds, {cpu / seconds:.2f} cores; load average {load:.1f})",
        flush=True,
    )
    return seconds


def run(info, conf, env):
    """``scale_out_speedup`` on a database of its own, with ``queue_job`` and the addon,
    in the PostgreSQL ``conf`` names; returns an exit code."""
    if not queue_job.addons_path():
        print("bench: scale_out_speedup NOT RUN: queue_job is not installed (make deps installs it)", flush=True)
        return 0
    print(f"bench: creating a database with {ADDON} and queue_job (about 60 s)…", flush=True)
    created = subprocess.run(
        odoo_cmd(
            conf,
            DATABASE,
            "-i",
            f"{ADDON},queue_job",
            "--stop-after-init",
            "--without-demo=all",
            "--log-level=warn",
        ),
        env=env,
        check=False,
    )
    if created.returncode:
        return created.returncode
    bench_poll.add_accounts(info, COUNT)
    folder = tempfile.mkdtemp(prefix="mcm-bench-jobs-")
    try:
        with Proxy(info["imap_port"], delay=bench_poll.DELAY) as proxy:
            setup_env = dict(
                env,
                MCM_BENCH_POLL_PHASE="setup",
                MCM_BENCH_POLL_COUNT=str(COUNT),
                MCM_BENCH_POLL_PORT=str(proxy.port),
            )
            # the setup syncs by the cron's method: jobs off until the passes
            shell(conf, env, CRONS_ONLY)
            with open(os.path.join(ROOT, "devstack", "bench_poll_odoo.py"), encoding="utf-8") as fh:
                print(shell(conf, setup_env, fh.read()).strip(), flush=True)
            print(
                f"bench: polling {COUNT} mailboxes through the proxy: the cron, then jobs in 1 and 2 processes…",
                flush=True,
            )
            cron_pass(conf, env)
            one = one_pass(conf, env, 1, folder)
            two = one_pass(conf, env, 2, folder)
        print(
            f"bench: scale_out_speedup = {one / two:.2f} x (the same pass by 2 Odoo processes against 1; "
            f"{os.cpu_count()} cores on this machine, shared with PostgreSQL, Dovecot and the proxy)",
            flush=True,
        )
        return 0
    except RuntimeError as exc:
        print(f"bench: scale_out_speedup FAILED: {exc}", flush=True)
        return 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    with benchkit.standalone("mcm-bench-jobs-") as (stack, conf, env):
        return run(stack.info(), conf, env)


if __name__ == "__main__":
    sys.exit(main())
