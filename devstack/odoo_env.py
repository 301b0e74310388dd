"""Find Odoo 18 and write the configuration the tests and the demo run it with."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

from . import queue_job

ADDON = "mail_connected_mailbox"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def odoo_status():
    """(True, path) when ``python3`` can import Odoo 18, else (False, reason)."""
    code = "import odoo, odoo.release as r; print(r.version_info[0], odoo.__path__[0])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return False, "Odoo 18 not importable"
    major, path = done.stdout.split(maxsplit=1)
    if major != "18":
        return False, f"Odoo {major} found, 18 needed"
    return True, path.strip()


def addons_dir(folder):
    """A folder holding the addon under its real name (the checkout may be named otherwise).

    It must not lie inside the checkout: a link back to the checkout from inside it would
    make a loop for everything that walks the tree (Odoo's translation export, linters)."""
    target = os.path.join(folder, "addons")
    if os.path.realpath(target).startswith(os.path.realpath(ROOT) + os.sep):
        digest = hashlib.sha256(ROOT.encode()).hexdigest()[:10]
        target = os.path.join(tempfile.gettempdir(), f"mail_connected_mailbox-addons-{digest}")
    os.makedirs(target, exist_ok=True)
    link = os.path.join(target, ADDON)
    if os.path.islink(link) and os.readlink(link) != ROOT:
        os.unlink(link)
    if not os.path.exists(link):
        os.symlink(ROOT, link)
    return target


def remove_addons_dir(folder):
    """Remove the addons folder :func:`addons_dir` made outside ``folder``, if any."""
    target = addons_dir(folder)
    if not os.path.realpath(target).startswith(os.path.realpath(folder) + os.sep):
        shutil.rmtree(target, ignore_errors=True)


def write_config(folder, db_settings, http_port, extra=None):
    """Write ``folder/odoo.conf`` and return its path."""
    ok, odoo_path = odoo_status()
    if not ok:
        raise RuntimeError(odoo_path)
    core_addons = os.path.join(os.path.dirname(odoo_path), "addons")
    paths = [p for p in (core_addons, os.path.join(odoo_path, "addons")) if os.path.isdir(p)]
    paths += filter(None, [queue_job.addons_path()])  # OCA queue_job, when installed (make deps)
    options = {
        "addons_path": ",".join([*paths, addons_dir(folder)]),
        "data_dir": os.path.join(folder, "filestore"),
        "http_interface": "127.0.0.1",
        "http_port": str(http_port),
        "list_db": "True",
        "admin_passwd": "admin",
        "max_cron_threads": "1",
        **db_settings,
        **(extra or {}),
    }
    path = os.path.join(folder, "odoo.conf")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[options]\n")
        for key, value in options.items():
            fh.write(f"{key} = {value}\n")
    return path


def odoo_cmd(conf, database, *args):
    """The command line that runs Odoo 18 with ``conf`` on ``database``."""
    return [sys.executable, "-m", "odoo", "-c", conf, "-d", database, *args]
