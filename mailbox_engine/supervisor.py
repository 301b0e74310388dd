"""Keep long-running tasks going, one thread each, until stopped.

A :class:`Supervisor` asks ``wanted()`` which tasks should run (keys: the databases a
server serves, say) every ``rescan_seconds``, makes each new one with ``make(key)`` in
the task's own thread and runs it there (``task.run()`` blocks until ``task.stop()``):

* a task no longer wanted is stopped;
* a task that fails (``make`` or ``run`` raises) or ends by itself is logged and run
  again after an exponential back-off with jitter (``backoff`` to ``backoff_max``
  seconds, each delay drawn between half and all of it); a task that had run for
  ``stable_seconds`` before it failed starts again from the shortest delay. A failing
  task never stops the others, nor the supervisor;
* ``wanted()`` failing keeps the tasks as they are (and is asked again at the next scan);
* :meth:`stop` stops every task and waits for their threads (``join_seconds`` at most).

Every thread is a daemon: a task stuck in its work never keeps the process alive.
"""

import logging
import random
import threading
import time

_logger = logging.getLogger(__name__)

RESCAN_SECONDS = 60.0
BACKOFF_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0
STABLE_SECONDS = 60.0
JOIN_SECONDS = 10.0
TICK_SECONDS = 1.0  # between two looks at the tasks' threads (ended ones are started again when due)


class _Slot:
    """One wanted task: its thread, the task once made, its failures in a row."""

    def __init__(self):
        self.thread = None
        self.task = None
        self.stopping = False
        self.failures = 0
        self.not_before = 0.0


class Supervisor:
    def __init__(
        self,
        wanted,
        make,
        *,
        name="tasks",
        rescan_seconds=RESCAN_SECONDS,
        backoff=BACKOFF_SECONDS,
        backoff_max=BACKOFF_MAX_SECONDS,
        stable_seconds=STABLE_SECONDS,
        join_seconds=JOIN_SECONDS,
        tick_seconds=TICK_SECONDS,
    ):
        self.wanted, self.make, self.name = wanted, make, name
        self.rescan_seconds, self.tick_seconds = rescan_seconds, tick_seconds
        self.backoff, self.backoff_max, self.stable_seconds = backoff, backoff_max, stable_seconds
        self.join_seconds = join_seconds
        self._slots = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = None

    # -- outside -------------------------------------------------------------------------
    def start(self):
        """Run the supervisor in a daemon thread of its own."""
        self._thread = threading.Thread(target=self.run, name=f"{self.name} supervisor", daemon=True)
        self._thread.start()

    def stop(self):
        """Stop every task; wait for them (``join_seconds`` at most) when :meth:`start` ran."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.join_seconds + self.tick_seconds + 1)

    def running(self):
        """The keys of the tasks whose thread is alive."""
        with self._lock:
            return sorted(key for key, slot in self._slots.items() if slot.thread and slot.thread.is_alive())

    # -- the loop ------------------------------------------------------------------------
    def run(self):
        """Run until :meth:`stop` (in the calling thread)."""
        next_scan = 0.0
        wanted = set()
        try:
            while not self._stopping.is_set():
                now = time.monotonic()
                if now >= next_scan:
                    wanted = self._ask(wanted)
                    next_scan = now + self.rescan_seconds
                self.step(wanted)
                self._stopping.wait(self.tick_seconds)
        finally:
            self._stop_all()

    def _ask(self, previous):
        try:
            return set(self.wanted())
        except Exception:
            _logger.exception("Could not tell which %s to run: those running go on", self.name)
            return previous

    def step(self, wanted):
        """Stop the tasks no longer wanted; start the wanted ones not running, when due."""
        now = time.monotonic()
        with self._lock:
            for key in set(self._slots) - set(wanted):
                self._stop_slot(self._slots.pop(key))
            for key in sorted(wanted):
                slot = self._slots.setdefault(key, _Slot())
                if (slot.thread and slot.thread.is_alive()) or now < slot.not_before or self._stopping.is_set():
                    continue
                slot.thread = threading.Thread(
                    target=self._run_task, args=(key, slot), name=f"{self.name} {key}", daemon=True
                )
                slot.thread.start()

    def _run_task(self, key, slot):
        started = time.monotonic()
        try:
            task = self.make(key)
            with self._lock:
                slot.task = task
                if slot.stopping:
                    return
            task.run()
        except Exception:
            failed = "failed"
            _logger.exception("The %s of %s failed", self.name, key)
        else:
            with self._lock:
                if slot.stopping:
                    return
            failed = "ended by itself"
        with self._lock:
            slot.task = None
            if time.monotonic() - started >= self.stable_seconds:
                slot.failures = 0
            slot.failures += 1
            delay = min(self.backoff_max, self.backoff * 2 ** (slot.failures - 1))
            delay = random.uniform(delay / 2, delay)
            slot.not_before = time.monotonic() + delay
        _logger.warning("The %s of %s %s: started again in %.0f s", self.name, key, failed, delay)

    def _stop_slot(self, slot):
        """Ask the slot's task to stop (under the lock)."""
        slot.stopping = True
        if slot.task is not None:
            try:
                slot.task.stop()
            except Exception:
                _logger.exception("The %s could not be asked to stop", self.name)

    def _stop_all(self):
        with self._lock:
            slots = list(self._slots.values())
            self._slots.clear()
            for slot in slots:
                self._stop_slot(slot)
        deadline = time.monotonic() + self.join_seconds
        for slot in slots:
            if slot.thread is not None:
                slot.thread.join(max(0.0, deadline - time.monotonic()))
        left = [slot.thread.name for slot in slots if slot.thread is not None and slot.thread.is_alive()]
        if left:
            _logger.warning("Still running after %.0f s, left behind: %s", self.join_seconds, ", ".join(left))
