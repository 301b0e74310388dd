"""The engine never imports Odoo: every module of ``mailbox_engine`` imports in a
Python where ``odoo`` cannot be imported at all."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = """
import pkgutil, sys
sys.modules["odoo"] = None  # any import of odoo now fails
import mailbox_engine
names = [m.name for m in pkgutil.walk_packages(mailbox_engine.__path__, "mailbox_engine.")]
for name in names:
    __import__(name)
print(len(names))
"""


def test_every_engine_module_imports_without_odoo():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) >= 15  # every module was found and imported
