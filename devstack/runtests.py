"""``make test``: both test tiers against real services, then a summary.

1. A private PostgreSQL cluster in a temporary folder (or the server named by PGHOST…).
2. The local mail stack (Dovecot IMAP + submission, SMTP sink, OAuth emulators).
3. Core tier: ``pytest tests/core`` (no Odoo needed).
4. Odoo tier: a fresh database with the addon installed by Odoo 18, running the
   addon's tests (at_install and post_install, browser tours included).
5. Everything started is stopped, on success, failure or Ctrl-C.

The last three lines are ``core: …``, ``odoo: …`` and ``total: N passed, N failed, N skipped``.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

from .odoo_env import ADDON, ROOT, odoo_cmd, odoo_status, write_config
from .pg import PostgresCluster
from .stack import MailStack
from .util import free_port

RESULT_LINE = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
SKIP_LINE = re.compile(r"^\S+ \S+ \d+ INFO \S+ \S+: skipped ")
FAILED_TEST = re.compile(r": (?:FAIL|ERROR): (\S+)")  # one line per failing test (or subtest)
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ ")
SHOWN = re.compile(r" (ERROR|CRITICAL|WARNING) |odoo\.tests\.stats|when loading database")


class Tally:
    def __init__(self, name):
        self.name = name
        self.passed = self.failed = self.skipped = 0
        self.note = ""
        self.not_run = False

    def line(self):
        if self.not_run:
            return f"{self.name}: {self.note}"
        text = f"{self.name}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        return f"{text}  ({self.note})" if self.note else text


def declared_odoo_tests():
    """Count ``def test_`` in the Odoo tier's modules (used when Odoo cannot run them)."""
    count = 0
    folder = os.path.join(ROOT, "tests")
    for name in sorted(os.listdir(folder)):
        if name.startswith("test_") and name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                count += len(re.findall(r"^\s+def test_", fh.read(), re.M))
    return count


def tally_junit(tally, junit):
    """Add a JUnit report's tests to ``tally``: one per test function (subtests are not counted
    on their own; a failing subtest fails its test)."""
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        key = (case.get("classname"), case.get("name"))
        tags = {child.tag for child in case}
        outcome = "failed" if tags & {"failure", "error"} else "skipped" if "skipped" in tags else "passed"
        if outcomes.get(key) != "failed":
            outcomes[key] = outcome
    for outcome in outcomes.values():
        setattr(tally, outcome, getattr(tally, outcome) + 1)


def run_core(out, env, args):
    tally = Tally("core")
    junit = os.path.join(out, "core.xml")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests/core",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:odoo",
        "--import-mode=importlib",
        f"--junitxml={junit}",
        "-q",
        "-rfEs",
        *args,
    ]
    print(f"\n=== core tier: {' '.join(cmd[2:])}", flush=True)
    done = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    if not os.path.exists(junit):
        tally.failed, tally.note = 1, f"pytest ended with code {done.returncode} and no report"
        return tally
    tally_junit(tally, junit)
    if done.returncode not in (0, 1) and not tally.failed:
        tally.failed, tally.note = 1, f"pytest ended with code {done.returncode}"
    return tally


def run_pytest_odoo(out, env, pg, paths):
    """The Odoo tier through pytest-odoo, on a database with the addon installed."""
    tally = Tally("odoo")
    database = f"mcm_pytest_{os.getpid()}"
    conf = write_config(out, pg.settings, free_port())
    install = odoo_cmd(
        conf,
        database,
        "-i",
        ADDON,
        "--stop-after-init",
        "--without-demo=all",
        "--log-level=warn",
    )
    print(f"\n=== odoo tier (pytest-odoo): installing {ADDON} in {database}", flush=True)
    if subprocess.run(install, cwd=out, env=env, check=False).returncode != 0:
        tally.failed, tally.note = 1, "the addon did not install"
        return tally
    junit = os.path.join(out, "odoo.xml")
    addon = os.path.join(out, "addons", ADDON)
    targets = [os.path.join(addon, p) for p in paths] or [os.path.join(addon, "tests")]
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--odoo-config={conf}",
        f"--odoo-database={database}",
        "--odoo-http",
        "--ignore",
        os.path.join(addon, "tests", "core"),
        f"--junitxml={junit}",
        "-q",
        "-rfEs",
        *targets,
    ]
    done = subprocess.run(cmd, cwd=out, env=env, check=False)
    if not os.path.exists(junit):
        tally.failed, tally.note = 1, f"pytest ended with code {done.returncode} and no report"
        return tally
    tally_junit(tally, junit)
    return tally


def run_odoo(out, env, pg, tags):
    tally = Tally("odoo")
    ok, reason = odoo_status()
    if not ok:
        count = declared_odoo_tests()
        tally.skipped = count
        tally.not_run = True
        tally.note = f"not run ({reason}), {count} tests"
        banner = "!" * 78
        print(
            f"\n{banner}\n!! ODOO TIER NOT RUN: {reason}. {count} Odoo tests skipped.\n"
            f"!! Nothing about the addon itself was tested. Install Odoo 18 (see README).\n{banner}",
            flush=True,
        )
        return tally
    database = f"mcm_test_{os.getpid()}"
    conf = write_config(out, pg.settings, free_port())
    log_path = os.path.join(out, "odoo.log")
    cmd = odoo_cmd(
        conf,
        database,
        "-i",
        ADDON,
        "--test-enable",
        f"--test-tags={tags}",
        "--stop-after-init",
        "--without-demo=all",
        "--log-level=info",
        "--log-handler=werkzeug:WARNING",
    )
    print(f"\n=== odoo tier: odoo -d {database} -i {ADDON} --test-tags={tags} (full log: {log_path})", flush=True)
    started = time.monotonic()
    summary, failed_tests = None, set()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd, cwd=out, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        try:
            showing = False
            for line in proc.stdout:
                log.write(line)
                if RECORD.match(line):
                    showing = bool(SHOWN.search(line))
                if showing:
                    print("   " + line.rstrip()[:400], flush=True)
                if SKIP_LINE.search(line):
                    tally.skipped += 1
                failing = FAILED_TEST.search(line)
                if failing:
                    failed_tests.add(failing.group(1))
                found = RESULT_LINE.search(line)
                if found:
                    summary = tuple(int(x) for x in found.groups())
            rc = proc.wait()
        except BaseException:
            proc.terminate()
            proc.wait(30)
            raise
    print(f"   odoo exited with {rc} after {time.monotonic() - started:.0f} s", flush=True)
    if summary is None:
        tally.failed, tally.note = 1, f"Odoo stopped before reporting tests (exit {rc}); see {log_path}"
        return tally
    failures, errors, run = summary
    # Odoo counts each failing subtest; a test counts once, like the tests run
    tally.failed = min(len(failed_tests) or failures + errors, run) if run else failures + errors
    tally.passed = run - tally.failed - tally.skipped
    if rc != 0 and not tally.failed:
        tally.failed, tally.note = 1, f"Odoo exited with {rc}; see {log_path}"
    if run == 0:
        tally.note = "Odoo ran no test"
    return tally


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run both test tiers against real local services.")
    parser.add_argument("--tier", choices=["all", "core", "odoo"], default="all")
    parser.add_argument("--tags", default=f"/{ADDON}", help="Odoo --test-tags (default: the whole addon)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    parser.add_argument(
        "--pytest-odoo",
        nargs="*",
        metavar="PATH",
        default=None,
        help="run the Odoo tier with pytest-odoo instead of Odoo's runner (optionally only "
        "these test files, relative to the addon)",
    )
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for the core tier's pytest")
    args = parser.parse_args(argv)

    def _interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    out = tempfile.mkdtemp(prefix="mcm-test-")
    os.chmod(out, 0o711)  # the services run as an unprivileged user
    pg = stack = None
    tallies = []
    try:
        pg = PostgresCluster(os.path.join(out, "pg")).start()
        stack = MailStack(os.path.join(out, "stack")).start()
        env = dict(os.environ, MCM_TEST_STACK=stack.info_path, PYTHONDONTWRITEBYTECODE="1")
        env.update({k.upper(): v for k, v in pg.settings.items()})
        if args.tier in ("all", "core"):
            tallies.append(run_core(out, env, args.pytest_args))
        if args.tier in ("all", "odoo"):
            if args.pytest_odoo is not None and odoo_status()[0]:
                tallies.append(run_pytest_odoo(out, env, pg, args.pytest_odoo))
            else:
                tallies.append(run_odoo(out, env, pg, args.tags))
    finally:
        if stack:
            stack.stop()
        if pg:
            pg.stop()
        if args.keep:
            print(f"kept: {out}")
        else:
            shutil.rmtree(out, ignore_errors=True)
    total = Tally("total")
    for tally in tallies:
        total.passed += tally.passed
        total.failed += tally.failed
        total.skipped += tally.skipped
    print()
    for tally in [*tallies, total]:
        print(tally.line())
    return 1 if total.failed or not tallies else 0


if __name__ == "__main__":
    sys.exit(main())
