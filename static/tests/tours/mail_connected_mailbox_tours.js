import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

function openPreferencesMailboxes() {
    return [
        {
            content: "Open the user menu",
            trigger: ".o_user_menu button",
            run: "click",
        },
        {
            content: "Open My Preferences",
            trigger: "[data-menu=settings]",
            run: "click",
        },
        {
            content: "Open the Mailboxes tab",
            trigger: ".modal .o_notebook .nav-link:contains('Mailboxes')",
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_user", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the Mailboxes app",
            trigger: ".o_app[data-menu-xmlid='mail_connected_mailbox.mail_connected_mailbox_menu_root']",
            run: "click",
        },
        {
            content: "The user's mailbox is on the board",
            trigger: ".o_kanban_record:contains('ann.tour@example.com')",
        },
        {
            content: "Switch to the list",
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            content: "The list shows the status",
            trigger: ".o_list_view .o_data_row td[name='state']:contains('Not connected')",
        },
        ...openPreferencesMailboxes(),
        {
            content: "The tab lists the user's mailbox",
            trigger: ".modal .o_field_widget[name=mailbox_ids] .o_data_row:contains('ann.tour@example.com')",
        },
        {
            content: "Close the preferences",
            trigger: ".modal .btn-close",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_settings", {
    url: "/odoo/settings",
    steps: () => [
        {
            content: "Open the Connected Mailboxes section",
            trigger: ".settings_tab [data-key='mail_connected_mailbox']",
            run: "click",
        },
        {
            content: "The Google app settings are there",
            trigger: ".app_settings_block[data-key='mail_connected_mailbox'] .o_field_widget[name=mcm_google_client_id] input",
        },
        {
            content: "The redirect URI to register is shown",
            trigger: ".o_field_widget[name=mcm_google_redirect_uri]:contains('/mail_connected_mailbox/oauth/google/callback')",
        },
        {
            content: "The Microsoft tenant defaults to common",
            trigger: ".o_field_widget[name=mcm_microsoft_tenant] input:value(common)",
        },
    ],
});

function cookie(name) {
    const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
    return found ? decodeURIComponent(found.split("=")[1]) : "";
}

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_connect_custom", {
    url: "/odoo",
    steps: () => [
        ...openPreferencesMailboxes(),
        {
            content: "Connect a mailbox",
            trigger: ".modal button:contains('Connect a mailbox')",
            run: "click",
        },
        {
            content: "Type the address",
            trigger: ".modal .o_field_widget[name=email] input",
            run: `edit ${cookie("mcm_address")}`,
        },
        {
            content: "IMAP server",
            trigger: ".modal .o_field_widget[name=imap_host] input",
            run: "edit 127.0.0.1",
        },
        {
            content: "No TLS on the local test server",
            trigger: ".modal .o_field_widget[name=imap_security] select",
            run: `select "none"`,
        },
        {
            content: "IMAP port",
            trigger: ".modal .o_field_widget[name=imap_port] input",
            run: `edit ${cookie("mcm_imap_port")}`,
        },
        {
            content: "SMTP server",
            trigger: ".modal .o_field_widget[name=smtp_host] input",
            run: "edit 127.0.0.1",
        },
        {
            content: "No TLS for SMTP either",
            trigger: ".modal .o_field_widget[name=smtp_security] select",
            run: `select "none"`,
        },
        {
            content: "SMTP port",
            trigger: ".modal .o_field_widget[name=smtp_port] input",
            run: `edit ${cookie("mcm_smtp_port")}`,
        },
        {
            content: "Password",
            trigger: ".modal .o_field_widget[name=password] input",
            run: `edit ${cookie("mcm_password")}`,
        },
        {
            content: "Test the connection",
            trigger: ".modal button[name=action_test_connection]",
            run: "click",
        },
        {
            content: "The test succeeds",
            trigger: ".o_notification:contains('Connection works')",
        },
        {
            content: "Connect",
            trigger: ".modal button[name=action_connect]",
            run: "click",
        },
        {
            content: "The mailbox is connected",
            trigger: ".modal .o_statusbar_status button.o_arrow_button_current:contains('Connected')",
        },
    ],
});
