"""Dovecot 2.3 from Debian's packages, run by an unprivileged user on 127.0.0.1
(``plain=True``: a second one that names no folder roles and announces no CONDSTORE,
MOVE or SPECIAL-USE, as older servers do).

IMAP and SMTP submission, with two passdbs side by side: a password file for
``PLAIN``/``LOGIN`` and the ``oauth2`` driver (token introspection against the
OAuth emulator) for ``XOAUTH2``/``OAUTHBEARER``. Submission relays to an SMTP sink;
``deliver`` puts mail into a mailbox as an MTA does (the sink's delivery reports).
"""

import contextlib
import logging
import os
import signal
import subprocess

from .util import as_service_user, find_binary, free_port, give_to_service_user, service_user, stop_process, wait_port

CONF = """\
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = mcm-{imap_port}
listen = 127.0.0.1
protocols = imap submission
ssl = no
disable_plaintext_auth = no
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
auth_cache_size = 0
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:~/Maildir
hostname = mail.test
submission_relay_host = 127.0.0.1
submission_relay_port = {sink_port}
submission_relay_trusted = yes
mail_max_userip_connections = 50
{capability}
{limits}

{namespace}

passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%Lu {folder}/users
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {folder}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/home/%Lu allow_all_users=yes
}}

service imap-login {{
  chroot =
  service_count = 0
  process_min_avail = 2
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service submission-login {{
  chroot =
  service_count = 0
  process_min_avail = 2
  inet_listener submission {{
    address = 127.0.0.1
    port = {submission_port}
  }}
}}
service imap {{
  service_count = 0
  process_min_avail = 4
{imap_limits}
}}
service submission {{
  service_count = 0
  process_min_avail = 2
}}
service pop3-login {{
  chroot =
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service ipc {{
  chroot =
}}
service old-stats {{
  chroot =
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
"""

NAMESPACE = """\
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
  # made only by who wants to look like Gmail (its All Mail holds every message once)
  mailbox "All Mail" {
    special_use = \\All
  }
}"""

# An older or plainer server: the same folders with no roles, and no CONDSTORE, MOVE or
# SPECIAL-USE announced (what many hosting providers' servers give)
PLAIN_NAMESPACE = """\
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    auto = subscribe
  }
  mailbox Sent {
    auto = subscribe
  }
  mailbox Trash {
    auto = subscribe
  }
  mailbox Archive {
    auto = subscribe
  }
}"""
PLAIN_CAPABILITY = (
    "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ UIDPLUS NAMESPACE CHILDREN UNSELECT"
)

# A bench holding thousands of idle connections: one imap process serves many of them
# (they are idle), the login processes take them all, and no per-user cap applies
BENCH_LIMITS = """\
default_client_limit = {n}0
default_process_limit = 200
mail_max_userip_connections = {n}
"""
BENCH_IMAP_LIMITS = """\
  client_limit = 200
  process_limit = 200
"""

_logger = logging.getLogger(__name__)
LDA = "/usr/lib/dovecot/dovecot-lda"  # Debian's dovecot-core: the local delivery agent

OAUTH2 = """\
introspection_mode = post
introspection_url = {introspection_url}
force_introspection = yes
username_attribute = email
active_attribute = active
active_value = true
timeout_msecs = 5000
"""


class Dovecot:
    """Start Dovecot with password accounts ``{address: password}``; stop it on exit."""

    def __init__(self, folder, introspection_url, sink_port, accounts=None, plain=False, connections=0):
        self.plain = plain  # no folder roles, no CONDSTORE, no MOVE
        self.connections = connections  # a bench's: this many IMAP connections held at once (0: the defaults)
        self.folder = os.path.abspath(folder)
        self.introspection_url = introspection_url
        self.sink_port = sink_port
        self.accounts = dict(accounts or {})
        self.imap_port = None
        self.submission_port = None
        self.proc = None

    def write_users(self):
        with open(os.path.join(self.folder, "users"), "w", encoding="utf-8") as fh:
            for address, password in sorted(self.accounts.items()):
                fh.write(f"{address.lower()}:{{PLAIN}}{password}::::::\n")

    def start(self, ports=None):
        binary = find_binary("dovecot", ["/usr/sbin"])
        if not binary:
            raise RuntimeError("Dovecot is not installed: apt-get install dovecot-imapd dovecot-submissiond")
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(self.folder, sub), exist_ok=True)
        user = service_user()
        # stopped and started again (a restart): the same ports, the same mail
        self.imap_port, self.submission_port = ports or (
            self.imap_port or free_port(),
            self.submission_port or free_port(),
        )
        conf = CONF.format(
            folder=self.folder,
            imap_port=self.imap_port,
            submission_port=self.submission_port,
            sink_port=self.sink_port,
            user=user.pw_name,
            group=_group_name(user.pw_gid),
            uid=user.pw_uid,
            gid=user.pw_gid,
            namespace=PLAIN_NAMESPACE if self.plain else NAMESPACE,
            capability=PLAIN_CAPABILITY if self.plain else "",
            limits=BENCH_LIMITS.format(n=self.connections) if self.connections else "",
            imap_limits=BENCH_IMAP_LIMITS if self.connections else "",
        )
        self.conf_path = os.path.join(self.folder, "dovecot.conf")
        with open(self.conf_path, "w", encoding="utf-8") as fh:
            fh.write(conf)
        with open(os.path.join(self.folder, "oauth2.conf.ext"), "w", encoding="utf-8") as fh:
            fh.write(OAUTH2.format(introspection_url=self.introspection_url))
        self.write_users()
        give_to_service_user(self.folder)
        self.proc = subprocess.Popen(
            as_service_user([binary, "-F", "-c", self.conf_path]),
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.folder, "stderr.log"), "ab"),  # noqa: SIM115
            start_new_session=True,
        )
        wait_port(self.imap_port, 30, self.proc)
        wait_port(self.submission_port, 30, self.proc)
        return self

    def deliver(self, address, raw):
        """Deliver ``raw`` (bytes) into the Inbox of ``address``, as an MTA hands mail to
        Dovecot (its local delivery agent: no password, any address Dovecot knows,
        OAuth-only ones too). The envelope sender is empty: what comes this way is a
        delivery report. Returns True once it is delivered."""
        done = subprocess.run(
            as_service_user([LDA, "-c", self.conf_path, "-d", address, "-f", "", "-m", "INBOX"]),
            input=raw,
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode:
            _logger.warning(
                "Dovecot did not take the message for %s (%s): %s",
                address,
                done.returncode,
                done.stderr.decode(errors="replace").strip(),
            )
        return done.returncode == 0

    def stop(self):
        stop_process(self.proc, 15)
        self.proc = None

    def restart(self):
        """Restart on the same ports with the same mail, as a service manager does: every
        process of it ends (and the connections they served), then it starts again."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session (start_new_session)
        self.stop()
        return self.start((self.imap_port, self.submission_port))


def _group_name(gid):
    import grp

    return grp.getgrgid(gid).gr_name
