"""Facts about the local mail stack that the tests, the demo and the bench share
(plain Python: no Odoo import)."""

import contextlib
import re
import socket
import threading


def stack_parameters(stack, allow_private_hosts=True):
    """The system parameters that point the addon at the local mail stack."""
    g, m = stack["google"], stack["microsoft"]
    imap = f"127.0.0.1:{stack['imap_port']}:none"
    smtp = f"127.0.0.1:{stack['submission_port']}:none"
    values = {
        "google_gmail_client_id": g["client_id"],
        "google_gmail_client_secret": g["client_secret"],
        "microsoft_outlook_client_id": m["client_id"],
        "microsoft_outlook_client_secret": m["client_secret"],
        "mail_connected_mailbox.google_auth_uri": f"{g['url']}/o/oauth2/v2/auth",
        "mail_connected_mailbox.google_token_uri": f"{g['url']}/token",
        "mail_connected_mailbox.google_userinfo_uri": f"{g['url']}/oauth2/v3/userinfo",
        "mail_connected_mailbox.microsoft_authority_host": m["url"],
        "mail_connected_mailbox.ca_bundle": m["ca_bundle"],
        "mail_connected_mailbox.google_imap": imap,
        "mail_connected_mailbox.google_smtp": smtp,
        "mail_connected_mailbox.microsoft_imap": imap,
        "mail_connected_mailbox.microsoft_smtp": smtp,
    }
    if allow_private_hosts:
        values["mail_connected_mailbox.allow_private_hosts"] = "True"  # the local servers are on 127.0.0.1
    return values


SINK_SERVER_NAME = "Local SMTP sink"  # the company's outgoing server of `make run`


def company_server_values(stack):
    """The company's outgoing mail server that sends to the local SMTP sink (no TLS, no
    sign-in, loopback): what the alerts and every other mail of Odoo's own leave by."""
    return {
        "name": SINK_SERVER_NAME,
        "smtp_host": stack["host"],
        "smtp_port": stack["sink_port"],
        "smtp_encryption": "none",
        "smtp_authentication": "login",
        "smtp_user": False,
        "from_filter": False,
        "active": True,
    }


def configure_company_server(env, stack):
    """Make the company's outgoing server (an ``ir.mail_server`` tied to no mailbox, the
    first by sequence) the local SMTP sink: created once, pointed at the sink's port of
    this start, ahead of any other company server. Returns it."""
    Servers = env["ir.mail_server"].sudo().with_context(active_test=False)
    company = Servers.search([("smtp_authentication", "!=", "mcm_mailbox")])
    server = company.filtered(lambda s: s.name == SINK_SERVER_NAME)[:1]
    others = (company - server).filtered("active")
    first = min(others.mapped("sequence"), default=10)
    values = dict(company_server_values(stack), sequence=min(first - 1, 10))
    if server:
        server.write(values)
    else:
        server = Servers.create(values)
    return server


def set_account_password(stack, address, password):
    """Change the password of ``address`` on the local Dovecot, as its owner would at
    their provider (Dovecot reads its password file again when it changes). Returns
    the previous password."""
    import os
    import time

    path = stack["dovecot_users"]
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    previous = None
    for n, line in enumerate(lines):
        user, _sep, rest = line.partition(":")
        if user == address.lower():
            previous = rest.split("::", 1)[0].removeprefix("{PLAIN}")
            lines[n] = f"{user}:{{PLAIN}}{password}::::::"
    if previous is None:
        raise KeyError(address)
    temporary = path + ".new"
    with open(temporary, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.chmod(temporary, os.stat(path).st_mode)
    os.replace(temporary, path)  # never half a file
    # Dovecot looks at the file at most once a second: let that second pass
    time.sleep(1.05 - time.time() % 1)
    return previous


def custom_mailbox_values(stack, address, **values):
    """A custom IMAP/SMTP mailbox on the local Dovecot (no TLS on loopback)."""
    return {
        "email": address,
        "provider": "imap",
        "imap_host": "127.0.0.1",
        "imap_port": stack["imap_port"],
        "imap_security": "none",
        "smtp_host": "127.0.0.1",
        "smtp_port": stack["submission_port"],
        "smtp_security": "none",
        "password": stack["accounts"].get(address, ""),
        **values,
    }


def connect_oauth(env, stack, provider, address, list_folders=True):
    """A Google or Microsoft mailbox of ``env``'s user, signed in through the emulator's
    consent page (the browser's part done by HTTP), without Odoo's HTTP server. Without
    ``list_folders`` it is only marked connected (a bench's setup, not a sign-in)."""
    import secrets
    import urllib.parse

    from .oauth_emulator import answer_consent

    mailbox = env["mail.mailbox"].create({"email": address, "provider": provider})
    client = mailbox._oauth_client()
    url, secret = client.start("state-" + secrets.token_hex(4), address)
    ca_file = stack["microsoft"]["ca_bundle"] if provider == "microsoft" else None
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer_consent(url, address, ca_file=ca_file)).query))
    grant = (
        client.finish(back["code"], secret, address) if provider == "google" else client.finish(secret, back, address)
    )
    mailbox._store_grant(grant)
    if list_folders:
        mailbox._mark_connected(grant.access_token)
    else:
        mailbox._set_state("connected")
    return mailbox


# The stack's IMAP servers the sync suite runs against: Dovecot, Cyrus IMAP, and a
# plainer Dovecot (no folder roles, no CONDSTORE, no MOVE) where the stack has one.
IMAP_SERVERS = ("dovecot", "cyrus", "plain")


def imap_server(stack, kind="dovecot"):
    """The stack's IMAP server ``kind`` as ``{"host", "imap_port"}`` (the same accounts on
    each), or ``None`` when this stack has none (:func:`imap_server_missing` says why)."""
    if kind == "dovecot":
        return {"host": stack["host"], "imap_port": stack["imap_port"]}
    found = stack.get(kind)
    return {"host": found["host"], "imap_port": found["imap_port"]} if found else None


def imap_server_missing(stack, kind):
    """Why the tests against ``kind`` cannot run on this stack (said when they are
    skipped), or ``None``."""
    if imap_server(stack, kind):
        return None
    if kind == "cyrus":
        return f"NOT RUN against Cyrus IMAP: {stack.get('cyrus_missing') or 'this stack has no Cyrus'}"
    return f"NOT RUN: this stack has no {kind} IMAP server"


def server_message_ids(client, path):
    """The Message-IDs of every message of ``path`` on an IMAP server, sorted (what the
    sync must leave in Odoo: each once)."""
    client.select_folder(path, readonly=True)
    uids = client.search(["ALL"])
    fetched = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
    return sorted(
        data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode().split(":", 1)[1].strip() for data in fetched.values()
    )


# what loads from elsewhere, in an attribute value or a style text
REMOTE = re.compile(r"(?:https?|ftp)\s*:|[/\\\\]{2}|url\s*\(|@import|image-set", re.IGNORECASE)
LOADED = ("src", "srcset", "poster", "background", "data", "action", "formaction", "href")


def remote_addresses(text, local=("cid:", "data:", "#")):
    """Every attribute value and style text of the HTML ``text`` (parsed as lxml, and so
    the browser, reads it) that names an address to load from elsewhere: link targets
    (``<a href>``, ``<area href>``) aside; a loaded attribute counts unless it starts
    with one of ``local``."""
    from lxml import etree, html

    found = []
    root = html.fromstring(f"<div>{text}</div>")
    for element in root.iter(etree.Element):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if tag == "style" and REMOTE.search(element.text or ""):
            found.append(("style", element.text))
        for attribute, value in element.attrib.items():
            name = attribute.lower()
            if name == "href" and tag in ("a", "area"):
                continue  # a link, followed on a click
            inside = value.strip().lower().startswith(local)
            if REMOTE.search(value) or (name.rsplit(":", 1)[-1] in LOADED and value and not inside):
                found.append((f"{tag}@{name}", value))
    return found


def bench_stack(env):
    """In a bench's ``odoo shell`` script: the local stack (``MCM_TEST_STACK``), with the
    addon pointed at it and committed."""
    import json
    import os

    with open(os.environ["MCM_TEST_STACK"], encoding="utf-8") as fh:
        stack = json.load(fh)
    params = env["ir.config_parameter"].sudo()
    for key, value in stack_parameters(stack).items():
        params.set_param(key, value)
    env.cr.commit()
    return stack


def save_bench_results(results):
    """Add ``results`` to the JSON file ``MCM_BENCH_RESULTS`` names (read back by
    ``devstack.bench`` for the ratios); nothing when it names none."""
    import json
    import os

    path = os.environ.get("MCM_BENCH_RESULTS")
    if not path:
        return
    saved = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            saved = json.load(fh)
    saved.update(results)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(saved, fh)


class RecordingServer:
    """A real TCP server on loopback that records each connection it accepts and, if
    given, greets it with ``banner``."""

    def __init__(self, host="127.0.0.1", banner=b"", port=0):
        self.sock = socket.create_server((host, port))
        self.port = self.sock.getsockname()[1]
        self.banner = banner
        self.accepted = []
        self.sock.settimeout(0.1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(peer)
            if self.banner:
                with contextlib.suppress(OSError):
                    conn.sendall(self.banner)
                    conn.settimeout(1)
                    conn.recv(1024)
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()
