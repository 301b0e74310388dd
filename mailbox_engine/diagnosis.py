"""Turn what a provider or a server answered into a diagnosis a salesperson understands.

A :class:`Diagnosis` says which state the mailbox goes to (``auth_lost``,
``throttled``, ``error``, or ``None`` for a transient failure that leaves the state
as it was), the cause and the fix in words, and the provider's own code for support.
Texts are English templates with ``{named}`` placeholders; the addon translates them
(``_`` below only marks them for extraction). Nothing here ever contains a token or
a password.
"""

import errno
import re
import socket
import ssl
from dataclasses import dataclass, field

from .netgate import HostRefusedError


def _(text):
    """Mark a text for translation; the addon translates it when it shows it."""
    return text


AUTH_LOST = "auth_lost"
THROTTLED = "throttled"
ERROR = "error"
TRANSIENT = None  # keep the current state, retry later


@dataclass(frozen=True)
class Diagnosis:
    kind: str
    state: str | None
    cause: str
    fix: str
    params: dict = field(default_factory=dict)
    provider_code: str = ""
    retry_after: int | None = None

    def render(self, translate=lambda text: text, button="Reconnect"):
        """(cause, fix) with placeholders filled in, translated by ``translate``;
        ``button`` names the button that signs in again (Connect or Reconnect). Every
        value is capped (:func:`shown`), and what a provider or a server said (``detail``)
        is quoted, so that it reads as their words, not ours."""
        params = {
            "button": button,
            **{
                key: shown(value, quoted=key == "detail", limit=PARAM_LIMITS.get(key, PARAM_MAX))
                for key, value in self.params.items()
            },
        }
        return translate(self.cause).format(**params), translate(self.fix).format(**params)


PARAM_MAX = 255  # characters of one value (a host, an address, a provider's words) in a cause or a fix
PARAM_LIMITS = {"consent_url": 1000}  # built by Odoo from the app's settings: cut, it would not work


def shown(value, quoted=False, limit=PARAM_MAX):
    """``value`` as text for a cause or a fix: on one line, capped to ``limit``
    characters (an ellipsis says it was cut), between quotes when ``quoted``."""
    if not isinstance(value, str):
        return value
    text = " ".join(value.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"“{text}”" if quoted and text else text


CATALOG = {
    "revoked": (
        AUTH_LOST,
        _(
            "{provider} no longer accepts Odoo's access to {address}: the access was "
            "revoked, the password was changed, or it expired after a long time unused."
        ),
        _("Click {button} and sign in to {address} again. Your settings and history are kept."),
    ),
    "consent": (
        AUTH_LOST,
        _("{provider} needs an administrator of your organisation to approve Odoo before {address} can be connected."),
        _("Ask your Microsoft 365 administrator to grant consent ({consent_url}), then click {button}."),
    ),
    "mfa": (
        AUTH_LOST,
        _("{provider} asks {address} to sign in again with multi-factor authentication."),
        _("Click {button} and complete the sign-in, including the second factor."),
    ),
    "permissions": (
        AUTH_LOST,
        _("Odoo was not given every permission it needs for {address} (missing: {missing})."),
        _("Click {button} and leave every permission ticked on the consent screen."),
    ),
    "denied": (
        AUTH_LOST,
        _("The sign-in to {address} was cancelled, so Odoo got no access."),
        _("Click {button} again and accept the permissions Odoo asks for."),
    ),
    "no_code": (
        AUTH_LOST,
        _("{provider} sent the sign-in of {address} back without an authorization code, so Odoo got no access."),
        _("Click {button} again and finish the sign-in on the {provider} page."),
    ),
    "wrong_account": (
        AUTH_LOST,
        _("You signed in as {signed_in}, but this mailbox is {address}."),
        _("Click {button} again and sign in as {address}, or create a mailbox for {signed_in}."),
    ),
    "password": (
        AUTH_LOST,
        _("The server at {host} refused the login or password for {address}."),
        _(
            "Check the login and type the current password (or an app password if the account "
            "uses two-step verification), then click {button}."
        ),
    ),
    "throttled": (
        THROTTLED,
        _("{provider} is limiting how often Odoo may connect to {address}."),
        _("Nothing to do: Odoo waits {retry_after} seconds and tries again by itself."),
    ),
    "send_throttled": (
        THROTTLED,
        _("{provider} refuses more mail from {address} for now ({detail})."),
        _(
            "Nothing to do: the waiting mail leaves by itself once the limit lifts (Odoo checks again "
            "in {retry_after} seconds). If it happens often, lower the mailbox's sending limits."
        ),
    ),
    "app_config": (
        ERROR,
        _("{provider} rejected Odoo's app credentials ({detail})."),
        _(
            "An administrator must check the client ID and secret in Settings › Connected "
            "Mailboxes (a client secret may have expired)."
        ),
    ),
    "smtp_auth_disabled": (
        ERROR,
        _("SMTP sending is disabled for {address} at {provider}."),
        _("Ask your Microsoft 365 administrator to enable Authenticated SMTP for this mailbox, then click {button}."),
    ),
    "dns": (
        TRANSIENT,
        _("The server name {host} cannot be found."),
        _("Check the spelling of the server name (for example imap.example.com)."),
    ),
    "refused": (
        TRANSIENT,
        _("Nothing answers at {host} on port {port}."),
        _(
            "Check the port: usually 993 (SSL/TLS) or 143 (STARTTLS) for IMAP, 465 (SSL/TLS) or 587 "
            "(STARTTLS) for SMTP."
        ),
    ),
    "dropped": (
        TRANSIENT,
        _("The connection to {host} on port {port} dropped in the middle of the sync."),
        _("Nothing to do: what was fetched is kept, and the next sync goes on from there in a minute."),
    ),
    "timeout": (
        TRANSIENT,
        _("{host} did not answer on port {port} within {timeout} seconds."),
        _("Check the server name and port; a firewall may be blocking the connection."),
    ),
    "no_tls": (
        ERROR,
        _("{host} does not speak SSL/TLS on port {port}."),
        _("Choose STARTTLS with port {starttls_port}, or SSL/TLS with port {ssl_port}."),
    ),
    "tls_certificate": (
        ERROR,
        _("The certificate of {host} cannot be trusted ({detail})."),
        _("Check the server name: it must match the server's certificate."),
    ),
    "plaintext_refused": (
        ERROR,
        _("Odoo does not send a password or a token to {host} without encryption."),
        _(
            "Choose SSL/TLS (port {ssl_port}) or STARTTLS (port {starttls_port}); “None” is only for a "
            "test server on this machine."
        ),
    ),
    "no_starttls": (
        ERROR,
        _("{host} does not offer STARTTLS on port {port}."),
        _("Choose SSL/TLS with port {ssl_port}."),
    ),
    "unavailable": (
        TRANSIENT,
        _("{provider} could not check the sign-in of {address} right now."),
        _("Nothing to do: Odoo tries again by itself."),
    ),
    "server": (
        TRANSIENT,
        _("{provider} answered with an error ({detail})."),
        _("Nothing to do: Odoo tries again by itself. If it lasts, contact your mail provider."),
    ),
    "request": (
        ERROR,
        _("{provider} refused Odoo's request ({detail})."),
        _(
            "An administrator must check the app in Settings › Connected Mailboxes: the redirect URI "
            "registered with {provider} must be exactly the one shown there, and the app must allow "
            "this kind of account."
        ),
    ),
    "not_mail": (
        ERROR,
        _("The server at {host}:{port} does not behave like an {protocol} server: it did not answer as one."),
        _(
            "Check the host and the port: usually 993 (SSL/TLS) or 143 (STARTTLS) for IMAP, 465 (SSL/TLS) "
            "or 587 (STARTTLS) for SMTP."
        ),
    ),
    "host_refused": (
        ERROR,
        _(
            "{host} is on a private, loopback or link-local network: Odoo connects there only for "
            "mailboxes of administrators."
        ),
        _(
            "Use the public name of your mail server, or ask an administrator to allow servers on private "
            "networks in Settings › Connected Mailboxes."
        ),
    ),
    "sync_failing": (
        ERROR,
        _("Odoo could not sync {address}: its sync failed several times in a row ({error})."),
        _(
            "Nothing is lost: the mail stays on the server. Click Check access once the cause is fixed; the sync then "
            "resumes where it stopped. If it lasts, send this message to your administrator."
        ),
    ),
    "protocol": (
        ERROR,
        _("{host} on port {port} does not behave like an {protocol} server ({detail})."),
        _("Check that the port is the {protocol} port of the server."),
    ),
}

# Microsoft Entra error codes -> kind (learn.microsoft.com, AADSTS error codes)
MICROSOFT_CODES = {
    50173: "revoked",
    700082: "revoked",
    70008: "revoked",
    50055: "revoked",
    65001: "consent",
    650056: "consent",
    90094: "consent",
    90008: "consent",
    50076: "mfa",
    50079: "mfa",
    50074: "mfa",
    50158: "mfa",
    7000215: "app_config",
    7000222: "app_config",
    700016: "app_config",
    7000218: "app_config",
    50196: "throttled",
}


def diagnose(kind, provider_code="", retry_after=None, **params):
    state, cause, fix = CATALOG[kind]
    if kind in ("throttled", "send_throttled"):
        retry_after = int(retry_after or 60)
        params.setdefault("retry_after", retry_after)
    return Diagnosis(kind, state, cause, fix, params, str(provider_code or ""), retry_after)


def from_oauth_error(provider, status, payload, retry_after=None, **params):
    """Classify an OAuth token endpoint error (``payload`` is the JSON answer, or {})."""
    payload = payload or {}
    error = payload.get("error", "")
    description = payload.get("error_description", "") or ""
    codes = payload.get("error_codes") or [int(c) for c in re.findall(r"AADSTS(\d+)", description)[:1]]
    params = {"provider": provider, **params}
    params.setdefault("consent_url", "")
    if status == 429:
        return diagnose("throttled", error or "429", retry_after, **params)
    for code in codes:
        if code in MICROSOFT_CODES:
            kind = MICROSOFT_CODES[code]
            return diagnose(kind, f"AADSTS{code}", retry_after, detail=f"AADSTS{code}", **params)
    if error == "interaction_required":
        return diagnose("mfa", error, **params)
    if error == "consent_required":
        return diagnose("consent", error, **params)
    if error == "invalid_grant":
        return diagnose("revoked", error, **params)
    if error in ("invalid_client", "unauthorized_client"):
        return diagnose("app_config", error, detail=error, **params)
    if error == "access_denied":
        return diagnose("denied", error, **params)
    detail = error or f"HTTP {status}"
    if not status or status >= 500 or error == "temporarily_unavailable":
        return diagnose("server", error or str(status), detail=detail, **params)
    return diagnose("request", error or str(status), detail=detail, **params)


_RESPONSE_CODE = re.compile(r"\[([A-Z-]+)")
# codes of a NO that still mean "these credentials are not taken" (RFC 5530); an ALERT's
# words must reach the user as they are, so it is not one of them
_CREDENTIAL_CODES = {"AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED"}


def _refused_sign_in(text):
    """A NO to the sign-in that refuses the credentials, whatever the server's words
    ("[AUTHENTICATIONFAILED] …", "Login failed: authentication failure", "LOGON failure…"):
    RFC 3501 gives a NO to LOGIN that meaning unless a response code says otherwise. A BAD
    (imaplib: "LOGIN command error: BAD …") is a server that did not understand."""
    codes = set(_RESPONSE_CODE.findall(text))
    if "AUTHENTICATIONFAILED" in codes:
        return True
    return "command error: BAD" not in text and codes <= _CREDENTIAL_CODES


def from_imap_error(message, **params):
    """Classify an IMAP ``NO``/``BAD`` answer to LOGIN/AUTHENTICATE (imapclient's
    ``LoginError``: the server's words, or imaplib's "command error: BAD …")."""
    text = str(message)
    if "[THROTTLED]" in text or "[LIMIT]" in text:
        return diagnose("throttled", "THROTTLED", None, **params)
    if "[UNAVAILABLE]" in text:  # the provider asks to come back later: back off, as for [THROTTLED]
        return diagnose("throttled", "UNAVAILABLE", None, **params)
    if _refused_sign_in(text):
        kind = "password" if params.pop("with_password", False) else "revoked"
        return diagnose(kind, "AUTHENTICATIONFAILED", **params)
    params.pop("with_password", None)
    params.setdefault("protocol", "IMAP")
    return diagnose("protocol", "IMAP", detail=text[:200], **params)


def from_smtp_error(code, message, **params):
    """Classify an SMTP reply to AUTH."""
    text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    with_password = params.pop("with_password", False)
    if code == 535 and "5.7.139" in text:
        return diagnose("smtp_auth_disabled", "535 5.7.139", **params)
    if code in (421, 450, 451, 454) or text.startswith("4.7."):
        return diagnose("throttled", str(code), None, **params)
    if code in {535, 534}:
        return diagnose("password" if with_password else "revoked", str(code), **params)
    params.setdefault("protocol", "SMTP")
    return diagnose("protocol", str(code), detail=f"{code} {text[:160]}", **params)


def from_send_throttled(code, message, **params):
    """The mailbox's provider refused a message because the sender is over a rate or a
    quota: a daily quota waits an hour before the next try, a rate five minutes."""
    text = message.decode(errors="replace") if isinstance(message, bytes) else str(message or "")
    daily = "5.4.5" in text or "quota" in text.lower()
    detail = f"{code} {text}".strip()[:160]
    return diagnose("send_throttled", str(code), 3600 if daily else 300, detail=detail, **params)


def from_network_error(exc, timeout=None, tls=False, **params):
    """Classify a failure to reach ``params['host']:params['port']`` (the gate, DNS,
    TCP, TLS). Nothing the other side sent is kept."""
    if isinstance(exc, HostRefusedError):
        return diagnose("host_refused", "PRIVATE", **params)
    if isinstance(exc, socket.gaierror):
        return diagnose("dns", "DNS", **params)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return diagnose("tls_certificate", "TLS", detail=exc.verify_message or "verification failed", **params)
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", "") or ""
        if reason in ("WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
            return diagnose("no_tls", "TLS", **params)
        return diagnose("tls_certificate", "TLS", detail=reason or str(exc)[:120], **params)
    if isinstance(exc, TimeoutError | socket.timeout):
        return diagnose("timeout", "TIMEOUT", timeout=timeout or "?", **params)
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return diagnose("refused", "ECONNREFUSED", **params)
    if isinstance(exc, ConnectionError | EOFError):
        return diagnose("no_tls", "EOF", **params) if tls else diagnose("refused", "RESET", **params)
    return diagnose("refused", type(exc).__name__, **params)
