"""SMTP sign-in through a user's own mailbox: XOAUTH2 for Google and Microsoft, the
password for custom servers. Only a 235 answer counts as signed in.

Odoo's own Gmail and Outlook servers send ``AUTH XOAUTH2`` and ignore the answer: a
revoked token then fails later, once per message, as an unknown error. Here the
answer is checked, so a lost access shows at sign-in, once.
"""

import base64
import smtplib


def xoauth2(user, token):
    """The SASL XOAUTH2 initial response (base64), as Google and Microsoft document it."""
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def authenticate(connection, login, password="", oauth_token="", address=""):
    """Sign in on an open :class:`smtplib.SMTP`; return the final ``(code, answer)``.

    With ``oauth_token``: ``AUTH XOAUTH2`` as ``address``; otherwise LOGIN/PLAIN with
    ``login`` and ``password``. Never raises for a refusal: the code says it.
    """
    connection.ehlo_or_helo_if_needed()
    if oauth_token:
        code, answer = connection.docmd("AUTH", "XOAUTH2 " + xoauth2(address or login, oauth_token))
        if code == 334:  # the error comes as a challenge; an empty line ends the exchange
            code, answer = connection.docmd("")
        return code, answer
    try:
        connection.login(login, password)
    except smtplib.SMTPAuthenticationError as exc:
        return exc.smtp_code, exc.smtp_error
    except smtplib.SMTPNotSupportedError:
        return 504, b"AUTH not offered"
    except smtplib.SMTPException as exc:  # e.g. "No suitable authentication method found."
        return 504, str(exc).encode()
    return 235, b"Authenticated"


def login_or_raise(connection, login, password="", oauth_token="", address=""):
    """:func:`authenticate`, raising :class:`smtplib.SMTPAuthenticationError` unless 235."""
    code, answer = authenticate(connection, login, password, oauth_token, address)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)
    return code, answer
