"""What we know about each kind of mailbox: servers, ports, scopes, redirect paths."""

from dataclasses import dataclass, field

SECURITY_SSL = "ssl"
SECURITY_STARTTLS = "starttls"
SECURITY_NONE = "none"

# Common defaults for custom servers: (port for SSL/TLS, port for STARTTLS)
IMAP_PORTS = {SECURITY_SSL: 993, SECURITY_STARTTLS: 143, SECURITY_NONE: 143}
SMTP_PORTS = {SECURITY_SSL: 465, SECURITY_STARTTLS: 587, SECURITY_NONE: 587}


@dataclass(frozen=True)
class Provider:
    code: str
    label: str
    oauth: bool
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = SECURITY_SSL
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_security: str = SECURITY_SSL
    scopes: tuple = field(default_factory=tuple)

    @property
    def callback_path(self):
        return f"/mail_connected_mailbox/oauth/{self.code}/callback" if self.oauth else ""


GOOGLE = Provider(
    "google",
    "Google (Gmail, Workspace)",
    True,
    imap_host="imap.gmail.com",
    smtp_host="smtp.gmail.com",
    scopes=("https://mail.google.com/", "openid", "https://www.googleapis.com/auth/userinfo.email"),
)
MICROSOFT = Provider(
    "microsoft",
    "Microsoft 365 / Outlook.com",
    True,
    imap_host="outlook.office365.com",
    smtp_host="smtp.office365.com",
    smtp_port=587,
    smtp_security=SECURITY_STARTTLS,
    scopes=("https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send"),
)
CUSTOM = Provider("imap", "Other (IMAP + SMTP)", False)

PROVIDERS = {p.code: p for p in (GOOGLE, MICROSOFT, CUSTOM)}


def default_port(kind, security):
    """Default IMAP or SMTP port for a security mode."""
    return (IMAP_PORTS if kind == "imap" else SMTP_PORTS)[security]


def usual_ports(kind):
    """Every port commonly used for IMAP or SMTP, whatever the security."""
    return set((IMAP_PORTS if kind == "imap" else SMTP_PORTS).values()) | ({25} if kind == "smtp" else set())


def redirect_uri(base_url, provider_code):
    """The exact redirect URI to register with the provider for this Odoo."""
    return base_url.rstrip("/") + PROVIDERS[provider_code].callback_path
