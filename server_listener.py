"""The listener inside the Odoo server, when the addon is loaded server-wide
(``server_wide_modules = base,web,mail_connected_mailbox`` in odoo.conf, or
``--load=base,web,mail_connected_mailbox``):

* threaded server (``workers = 0``): threads in the server process, started with it,
  stopped with it (SIGTERM, SIGINT);
* prefork server (``workers`` > 0): one process more beside the HTTP and cron workers,
  started by the server, started again when it ends (after a back-off), stopped with
  it; it also ends within a second when the server is gone.

Either way a :class:`~.mailbox_engine.supervisor.Supervisor` runs one listener
(:class:`~.models.mail_mailbox_listen.ListenRunner`) per database the server serves
where the addon is installed (``db_name``, else the databases ``dbfilter`` lets
through, as the server's cron workers do; a filter with ``%h`` or ``%d`` depends on the
request's host, so it lets every database through), looked at every minute; a listener
that fails is logged and started again with a back-off, and never stops the server.

Not started: with ``--stop-after-init`` (so never in ``odoo-bin shell``), in the
server's websocket process, in ``odoo-bin mailbox-listen`` (the command runs its own
listener), in a server that runs tests (``--test-enable``, ``--test-file``) unless
odoo.conf says ``mailbox_listener = True``, and never when it says
``mailbox_listener = False``.
"""

import contextlib
import ctypes
import logging
import random
import select
import signal
import time

import psycopg2

import odoo
from odoo import http, sql_db
from odoo.service import db as service_db
from odoo.service import server
from odoo.tools import config

from .mailbox_engine.supervisor import BACKOFF_MAX_SECONDS, BACKOFF_SECONDS, STABLE_SECONDS, Supervisor
from .models.mail_mailbox_listen import ListenRunner

_logger = logging.getLogger(__name__)

ADDON = "mail_connected_mailbox"
OPTION = "mailbox_listener"  # odoo.conf: False switches the server's listener off
M_ARENA_MAX = -8  # glibc's mallopt option
WATCHDOG_SECONDS = 120  # the prefork server ends a listener process silent this long (it speaks every second)


def enabled():
    """Whether this server runs the listener (see the module's docstring)."""
    if ADDON not in odoo.conf.server_wide_modules or config["stop_after_init"]:
        return False
    setting = config.get(OPTION)
    if setting is None:
        return not (config["test_enable"] or config["test_file"])
    return str(setting).strip().lower() not in ("false", "0", "no", "off", "")


def served_databases():
    """The databases this server serves where the addon is installed."""
    names = service_db.list_dbs(True)
    dbfilter = config["dbfilter"]
    if dbfilter and "%h" not in dbfilter and "%d" not in dbfilter:
        names = http.db_filter(names, host="")
    return [name for name in names if _installed(name)]


def _installed(dbname):
    try:
        with contextlib.closing(sql_db.db_connect(dbname).cursor()) as cr:
            cr.execute(
                "SELECT 1 FROM ir_module_module WHERE name = %s AND state IN ('installed', 'to upgrade')", [ADDON]
            )
            if cr.fetchone():
                return True
    except psycopg2.Error as exc:  # not an Odoo database, or one that went away: nothing to listen to
        _logger.debug("Database %s skipped by the mailbox listener: %s", dbname, exc)
    sql_db.close_db(dbname)
    return False


def _listen_runner(dbname):
    _logger.info("Listener of database %s starts", dbname)
    return ListenRunner(dbname)


def new_supervisor():
    return Supervisor(served_databases, _listen_runner, name="mailbox listener")


# -- threaded server: threads of the server process ------------------------------------
_threaded_start = server.ThreadedServer.start


def threaded_start(self, stop=False):
    result = _threaded_start(self, stop=stop)
    if not stop and enabled():
        supervisor = new_supervisor()
        supervisor.start()
        server.CommonServer.on_stop(supervisor.stop)
        _logger.info("Mailbox listener started in the server process")
    return result


# -- prefork server: a process of its own ----------------------------------------------
class ListenerWorker(server.Worker):
    """The listener's process in a prefork server: the supervisor's threads do the work;
    the worker's loop answers the server's watchdog and ends the process when asked
    (SIGINT or SIGTERM), when the server is gone, or past the memory limit."""

    def __init__(self, multi):
        super().__init__(multi)
        self.watchdog_timeout = WATCHDOG_SECONDS
        self.supervisor = None

    def start(self):
        result = super().start()
        if self.multi.socket:
            self.multi.socket.close()  # no HTTP here
        signal.signal(signal.SIGTERM, self.signal_handler)  # a clean stop too: mailboxes and locks let go
        self.setproctitle("mailbox listener")
        _few_malloc_arenas()
        return result

    def sleep(self):
        with contextlib.suppress(InterruptedError):
            select.select([self.wakeup_fd_r], [], [], 1)
        server.empty_pipe(self.wakeup_fd_r)

    def process_work(self):
        if self.supervisor is None:
            self.supervisor = new_supervisor()
            self.supervisor.start()

    def stop(self):
        if self.supervisor is not None:
            self.supervisor.stop()


def _few_malloc_arenas():
    """Two malloc arenas, not one per thread: the server's memory limits count virtual
    memory (64 MB per arena), and the listener's threads mostly wait."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(2))


class _PreforkListener:
    """The prefork server's listener process: started when none runs, after a back-off
    when the last one ended early."""

    def __init__(self):
        self.workers = {}  # pid: worker (the server's registry for this kind of worker)
        self.started = 0.0
        self.failures = 0
        self.not_before = 0.0

    def spawn(self, prefork):
        ended = [pid for pid in self.workers if pid not in prefork.workers]
        for pid in ended:
            self.workers.pop(pid)
            now = time.monotonic()
            self.failures = 1 if now - self.started >= STABLE_SECONDS else self.failures + 1
            delay = min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2 ** (self.failures - 1))
            delay = random.uniform(delay / 2, delay)
            self.not_before = now + delay
            _logger.warning("Mailbox listener process %s ended: another one starts in %.0f s", pid, delay)
        if not self.workers and time.monotonic() >= self.not_before:
            self.started = time.monotonic()
            prefork.worker_spawn(ListenerWorker, self.workers)


_prefork_process_spawn = server.PreforkServer.process_spawn


def prefork_process_spawn(self):
    _prefork_process_spawn(self)
    listener = self.__dict__.get("_mailbox_listener")
    if listener is None:
        listener = self._mailbox_listener = _PreforkListener() if enabled() else False
    if listener:
        listener.spawn(self)


def install():
    """Hook the listener into Odoo's servers (once; each hook does nothing unless
    :func:`enabled` when the server starts)."""
    if getattr(server.ThreadedServer.start, "_mailbox_listener", False):
        return
    threaded_start._mailbox_listener = True
    server.ThreadedServer.start = threaded_start
    server.PreforkServer.process_spawn = prefork_process_spawn


install()
