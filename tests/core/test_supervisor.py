"""The supervisor that keeps the server's listeners going: each wanted task runs in its
thread; one that fails is started again after a back-off while the others go on; one
no longer wanted is stopped; stopping the supervisor stops them all."""

import threading
import time

from mailbox_engine.supervisor import Supervisor

DEADLINE = 20  # seconds a test waits for what it expects (never asserted as a duration)


class Task:
    """Runs until stopped, or fails at once when its key says so."""

    def __init__(self, key, log):
        self.key, self.log = key, log
        self.stopped = threading.Event()

    def run(self):
        self.log.append(("run", self.key, time.monotonic()))
        if self.key.startswith("failing"):
            raise RuntimeError("the database went away")
        if self.key.startswith("ending"):
            return
        self.stopped.wait()

    def stop(self):
        self.log.append(("stop", self.key, time.monotonic()))
        self.stopped.set()


def supervisor(wanted, log, **options):
    def make(key):
        if key.startswith("unmakeable"):
            log.append(("run", key, time.monotonic()))
            raise RuntimeError("no registry")
        return Task(key, log)

    options = {"rescan_seconds": 0.05, "tick_seconds": 0.02, "backoff": 0.2, "backoff_max": 0.4, **options}
    return Supervisor(lambda: list(wanted), make, name="test task", **options)


def runs(log, key):
    return [when for what, k, when in log if what == "run" and k == key]


def wait_until(condition, what):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"never came: {what}")


def test_failing_tasks_start_again_after_a_back_off_and_the_others_go_on():
    log, wanted = [], ["steady", "failing", "unmakeable", "ending"]
    sup = supervisor(wanted, log)
    sup.start()
    try:
        for key in ("failing", "unmakeable", "ending"):
            wait_until(lambda key=key: len(runs(log, key)) >= 3, f"{key} started three times")
            first, second = runs(log, key)[:2]
            assert second - first >= 0.1  # the back-off: at least half of the first delay
        assert len(runs(log, "steady")) == 1  # never disturbed by the others' failures
        assert "steady" in sup.running()
    finally:
        sup.stop()
    assert ("stop", "steady") in {(what, key) for what, key, _w in log}
    assert sup.running() == []


def test_a_task_no_longer_wanted_is_stopped_and_stop_ends_every_thread():
    log, wanted = [], ["a", "b"]
    sup = supervisor(wanted, log)
    sup.start()
    wait_until(lambda: sup.running() == ["a", "b"], "both running")
    wanted.remove("a")
    wait_until(lambda: ("stop", "a") in {(what, key) for what, key, _w in log}, "a stopped")
    wait_until(lambda: sup.running() == ["b"], "only b running")
    before = {t.name for t in threading.enumerate()}
    assert "test task b" in before
    sup.stop()
    assert not {t.name for t in threading.enumerate()} & {"test task b", "test task supervisor"}
    assert len(runs(log, "b")) == 1


def test_wanted_failing_keeps_the_running_tasks():
    log, calls = [], []

    def wanted():
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("the database server is restarting")
        return ["a"]

    sup = Supervisor(
        wanted, lambda key: Task(key, log), name="test task", rescan_seconds=0.05, tick_seconds=0.02, backoff=0.2
    )
    sup.start()
    try:
        wait_until(lambda: len(calls) >= 5, "several scans, all but the first failing")
        assert sup.running() == ["a"]
        assert len(runs(log, "a")) == 1
    finally:
        sup.stop()
