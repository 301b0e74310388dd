"""Test connection, step by step, against the real local Dovecot and a few bad servers."""

import base64
import hashlib
import secrets
import socket
import threading
import urllib.parse

import pytest
import requests

from devstack.oauth_emulator import answer_consent
from mailbox_engine.connection_test import Server, check_imap, check_smtp, is_loopback
from mailbox_engine.diagnosis import AUTH_LOST, ERROR, THROTTLED

ALICE = "alice@mail.test"


def names(steps):
    return [(s.name, s.ok) for s in steps]


@pytest.fixture
def silent_port():
    """A TCP server that accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    accepted = []
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    sock.close()


def imap_server(stack, **kw):
    values = {
        "host": "127.0.0.1",
        "port": stack["imap_port"],
        "security": "none",
        "login": ALICE,
        "password": stack["accounts"][ALICE],
        "timeout": 5,
    }
    values.update(kw)
    return Server(**values)


def smtp_server(stack, **kw):
    return imap_server(stack, port=stack["submission_port"], **kw)


def test_imap_all_steps_pass(stack):
    steps = check_imap(imap_server(stack), ALICE)
    assert names(steps) == [("DNS", True), ("TCP", True), ("Capabilities", True), ("Login", True)]
    assert "AUTH=PLAIN" in steps[2].detail
    assert "CONDSTORE" in steps[3].detail and "SPECIAL-USE" in steps[3].detail


def test_imap_wrong_password(stack):
    step = check_imap(imap_server(stack, password="wrong"), ALICE)[-1]
    assert (step.name, step.ok) == ("Login", False)
    assert step.diagnosis.kind == "password" and step.diagnosis.state == AUTH_LOST
    cause, fix = step.diagnosis.render()
    assert "refused the login or password" in cause and "app password" in fix
    assert "wrong" not in cause + fix


def test_unknown_host(stack):
    step = check_imap(imap_server(stack, host="imap.no-such-host.invalid", security="ssl"), ALICE)[-1]
    assert (step.name, step.diagnosis.kind) == ("DNS", "dns")
    assert "imap.no-such-host.invalid" in step.diagnosis.render()[0]


def test_closed_port(stack):
    from devstack.util import free_port

    step = check_imap(imap_server(stack, port=free_port()), ALICE)[-1]
    assert (step.name, step.diagnosis.kind, step.diagnosis.state) == ("TCP", "refused", None)
    assert "993" in step.diagnosis.render()[1]


def test_port_that_speaks_no_tls(stack):
    step = check_imap(imap_server(stack, security="ssl"), ALICE)[-1]
    assert (step.name, step.diagnosis.kind, step.diagnosis.state) == ("TLS", "no_tls", ERROR)
    assert "STARTTLS with port 143" in step.diagnosis.render()[1]


def test_server_that_never_answers(stack, silent_port):
    step = check_imap(imap_server(stack, port=silent_port, timeout=1), ALICE)[-1]
    assert (step.name, step.diagnosis.kind) == ("Greeting", "timeout")


def test_starttls_not_offered(stack):
    step = check_imap(imap_server(stack, security="starttls"), ALICE)[-1]
    assert (step.name, step.diagnosis.kind) == ("STARTTLS", "no_starttls")


def test_plain_text_only_for_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("imap.example.com") and not is_loopback("192.0.2.1")


@pytest.mark.parametrize("check", [check_imap, check_smtp])
def test_no_plain_text_to_a_remote_server(check):
    # refused before any DNS lookup or connection: nothing leaves this machine
    server = Server(host="mail.example.com", port=143, security="none", login="a", password="secret")
    steps = check(server, "a@example.com")
    assert [(s.name, s.ok) for s in steps] == [("Security", False)]
    cause, fix = steps[0].diagnosis.render()
    assert "without encryption" in cause and "STARTTLS" in fix and "secret" not in cause + fix


def test_smtp_all_steps_pass(stack):
    steps = check_smtp(smtp_server(stack), ALICE)
    assert names(steps) == [("DNS", True), ("TCP", True), ("EHLO", True), ("AUTH", True)]
    assert "XOAUTH2" in steps[2].detail


def test_smtp_wrong_password(stack):
    step = check_smtp(smtp_server(stack, password="wrong"), ALICE)[-1]
    assert (step.name, step.diagnosis.kind, step.diagnosis.provider_code) == ("AUTH", "password", "535")


def test_smtp_port_that_speaks_no_tls(stack):
    step = check_smtp(smtp_server(stack, security="ssl"), ALICE)[-1]
    assert (step.name, step.diagnosis.kind) == ("TLS", "no_tls")
    assert "465" in step.diagnosis.render()[1]


def test_xoauth2_imap_and_smtp_with_emulator_token(stack, switch):
    token = _google_token(stack, "oz@gmail.test")
    imap = imap_server(stack, login="oz@gmail.test", password="", oauth_token=token)
    smtp = smtp_server(stack, login="oz@gmail.test", password="", oauth_token=token)
    assert check_imap(imap, "oz@gmail.test")[-1].ok
    assert check_smtp(smtp, "oz@gmail.test")[-1].ok
    switch("revoke", email="oz@gmail.test")
    step = check_imap(imap, "oz@gmail.test")[-1]
    assert (step.name, step.diagnosis.kind, step.diagnosis.state) == ("Login", "revoked", AUTH_LOST)
    step = check_smtp(smtp, "oz@gmail.test")[-1]
    assert (step.name, step.diagnosis.kind) == ("AUTH", "revoked")


def test_provider_unavailable_at_login_backs_off_and_is_no_access_loss(stack, switch):
    token = _google_token(stack, "oy@gmail.test")
    switch("outage", on=1)
    step = check_imap(imap_server(stack, login="oy@gmail.test", password="", oauth_token=token), "oy@gmail.test")[-1]
    assert (step.diagnosis.kind, step.diagnosis.state, step.diagnosis.provider_code) == (
        "throttled",
        THROTTLED,
        "UNAVAILABLE",
    )


def _google_token(stack, email):
    g = stack["google"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://localhost/cb"
    auth = f"{g['url']}/o/oauth2/v2/auth?" + urllib.parse.urlencode(
        {
            "client_id": g["client_id"],
            "redirect_uri": redirect,
            "response_type": "code",
            "state": "s",
            "scope": "https://mail.google.com/",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer_consent(auth, email)).query))["code"]
    answer = requests.post(
        f"{g['url']}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "code_verifier": verifier,
            "client_id": g["client_id"],
            "client_secret": g["client_secret"],
        },
        timeout=5,
    )
    return answer.json()["access_token"]


def test_append_once_files_a_sent_copy_a_single_time(stack):
    from email.message import EmailMessage
    from email.utils import make_msgid

    from mailbox_engine import imap

    address = "bob@mail.test"
    server = Server("127.0.0.1", stack["imap_port"], "none", address, password=stack["accounts"][address])
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = address, "lead@customer.test", "sent copy"
    message["Message-ID"] = make_msgid(domain="mail.test")
    message.set_content("hello")
    with imap.session(server, address) as client:
        assert imap.append_once(client, "Sent", message.as_bytes(), message["Message-ID"]) is True
        assert imap.append_once(client, "Sent", message.as_bytes(), message["Message-ID"]) is False
        client.select_folder("Sent")
        assert len(client.search(["HEADER", "Message-ID", message["Message-ID"]])) == 1
