{
    "name": "Connected Mailboxes",
    "summary": "Every user connects their own Gmail, Microsoft 365 or IMAP/SMTP mailbox; "
    "Odoo keeps it in sync and watches its access.",
    "version": "18.0.1.4.0",
    "category": "Productivity/Discuss",
    "license": "LGPL-3",
    "author": "Connected Mailboxes",
    "website": "https://github.com/connected-mailboxes/mail_connected_mailbox",
    "depends": ["mail", "crm", "mass_mailing"],
    "external_dependencies": {
        "python": ["google-auth-oauthlib", "msal", "imapclient", "cryptography", "lxml"],
    },
    "data": [
        "security/mail_connected_mailbox_groups.xml",
        "security/ir.model.access.csv",
        "security/mail_mailbox_security.xml",
        "data/ir_cron_data.xml",
        "views/mail_mailbox_views.xml",
        "views/mail_mailbox_message_views.xml",
        "views/mail_mailbox_disconnect_wizard_views.xml",
        "views/mail_mailbox_reconnect_link_wizard_views.xml",
        "views/mail_mail_views.xml",
        "views/mailing_mailing_views.xml",
        "views/mail_mailbox_incident_views.xml",
        "views/mail_connected_mailbox_templates.xml",
        "views/res_users_views.xml",
        "views/res_config_settings_views.xml",
        "views/mail_connected_mailbox_menus.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "mail_connected_mailbox/static/src/mailbox_form/*",
        ],
        "web.assets_tests": [
            "mail_connected_mailbox/static/tests/tours/*.js",
        ],
    },
    "post_init_hook": "_post_init_hook",
    "application": True,
    "installable": True,
}
