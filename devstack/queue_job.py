"""OCA ``queue_job`` for the tests and the bench: the addon works without it, and uses it
when a database has it installed (``models/mail_mailbox_jobs.py``).

Its wheel (``odoo-addon-queue_job``) puts the module under ``odoo/addons/`` and requires
the ``odoo`` distribution: installed into Odoo's own environment it would make ``odoo`` a
namespace package there and hide an Odoo installed from source (``pip install -e``). So
it is unpacked apart (``pip install --no-deps --target``), outside the checkout (Odoo's
translation export and the linters walk the checkout), and its ``odoo/addons`` folder is
added to the addons path of the tests, ``make run`` and the bench (``odoo_env``). Its one
Python requirement, ``requests``, comes with Odoo.

``python3 -m devstack.queue_job`` installs it (``make deps`` does) and prints the folder."""

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys

# the newest 18.0 release that runs on every Odoo 18.0 (later ones use ``api.private``,
# which Odoo 18.0 gained after its release); the addon uses only what all of them offer
# (``with_delay`` with a channel and an identity key)
REQUIREMENT = "odoo-addon-queue_job==18.0.1.7.0.1"
VERSION = REQUIREMENT.split("==")[1]


def target():
    """Where it is unpacked: one folder per version, shared by every checkout of the user."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mail_connected_mailbox", f"queue_job-{VERSION}")


def addons_path():
    """The folder holding ``queue_job`` to add to Odoo's addons path, or ``None`` when
    it is not installed."""
    folder = os.path.join(target(), "odoo", "addons")
    return folder if os.path.isfile(os.path.join(folder, "queue_job", "__manifest__.py")) else None


def install():
    """Unpack the pinned wheel unless it is there; return the addons folder."""
    if addons_path():
        return addons_path()
    folder = target()
    partial = folder + ".new"
    for stale in (partial, folder):  # a run stopped halfway
        shutil.rmtree(stale, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            partial,
            REQUIREMENT,
        ],
        check=True,
    )
    os.replace(partial, folder)
    return addons_path()


def server(conf, database, workers, http_port, options=(), env=None, log=None):
    """Start Odoo on ``database`` in prefork mode: ``workers`` processes run the jobs that
    ``queue_job``'s runner (loaded server-wide, in a process of its own) sends to the HTTP
    port, on the channel ``root.mailbox`` of capacity ``workers``; no cron runs. Returns
    the process (stop it with :func:`stop`)."""
    command = [
        *_odoo(),
        "-c",
        conf,
        *options,
        "-d",
        database,
        f"--db-filter=^{database}$",
        f"--workers={workers}",
        "--max-cron-threads=0",
        f"--http-port={http_port}",
        f"--gevent-port={_free_port()}",
        "--load=base,web,queue_job",
        "--log-level=warn",
    ]
    env = dict(env or os.environ, ODOO_QUEUE_JOB_CHANNELS=f"root:{workers},root.mailbox:{workers}")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT if log else None)


def _odoo():
    """How to start Odoo so that prefork mode can start its websocket process again with
    ``sys.argv[0]`` (which ``python -m odoo`` makes a module's file that cannot run)."""
    spec = importlib.util.find_spec("odoo")
    for folder in spec.submodule_search_locations or () if spec else ():
        script = os.path.join(os.path.dirname(folder), "odoo-bin")
        if os.path.isfile(script):
            return [sys.executable, script]
    return [sys.executable, "-m", "odoo"]


def _free_port():
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process):
    """Stop a :func:`server` (its workers and runner with it)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


# the jobs of the channel not ended yet: a pass is over when there is none (a job enqueues
# the next one before it ends, in a transaction committed before its own)
UNSETTLED = (
    "SELECT count(*) FROM queue_job WHERE channel = 'root.mailbox' "
    "AND state IN ('pending', 'enqueued', 'started', 'wait_dependencies')"
)


if __name__ == "__main__":
    try:
        print(install())
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"!! queue_job could not be installed ({exc}): its tests and bench line are skipped")
