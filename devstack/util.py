"""Small helpers shared by the local services."""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time

LOOPBACK = "127.0.0.1"


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_port(port, timeout=30.0, proc=None):
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {LOOPBACK}:{port} after {timeout:.0f} s")


def service_user():
    """The unprivileged account that runs PostgreSQL and Dovecot.

    PostgreSQL refuses to run as root; when we are root we drop to ``nobody``.
    """
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    return pwd.getpwnam("nobody")


def as_service_user(argv):
    """Prefix ``argv`` so that it runs as :func:`service_user`."""
    if os.geteuid() != 0:
        return list(argv)
    # from "/": the service user may not enter the folder we run from (PostgreSQL then
    # complains that it cannot change directory back to it)
    return ["runuser", "-u", service_user().pw_name, "--", "env", "-C", "/", *argv]


def give_to_service_user(path):
    """Make ``path`` (recursively) owned by the service user."""
    if os.geteuid() != 0:
        return
    user = service_user()
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), user.pw_uid, user.pw_gid)
    os.chown(path, user.pw_uid, user.pw_gid)


def find_binary(name, extra_dirs=()):
    """Find a server binary on PATH or in the usual Debian places."""
    found = shutil.which(name)
    if found:
        return found
    for folder in extra_dirs:
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def stop_process(proc, timeout=10.0):
    """Terminate ``proc`` and wait for it; kill it if it does not stop."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
