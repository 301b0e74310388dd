"""Facts about the local mail stack that the tests, the demo and the bench share
(plain Python: no Odoo import)."""


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
