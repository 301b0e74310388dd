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
            content: "The redirect URI is copied with one click",
            trigger: ".o_field_widget[name=mcm_google_redirect_uri] .o_clipboard_button",
        },
        {
            content: "The Microsoft tenant defaults to common",
            trigger: ".o_field_widget[name=mcm_microsoft_tenant] input:value(common)",
        },
        {
            content: "Servers on private networks: off by default",
            trigger: ".o_field_widget[name=mcm_allow_private_hosts] input:not(:checked)",
        },
        {
            content: "How often access is checked, and how often a lost mailbox is reminded",
            trigger: ".o_setting_box:has(.o_field_widget[name=mcm_health_check_minutes] input):has(.o_field_widget[name=mcm_reminder_days] input)",
        },
    ],
});

function openMyMail() {
    return [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Mailboxes",
            trigger: ".o_app[data-menu-xmlid='mail_connected_mailbox.mail_connected_mailbox_menu_root']",
            run: "click",
        },
        myMailMenu(),
    ];
}

function myMailMenu() {
    return {
        content: "Open My mail",
        trigger: ".o_main_navbar [data-menu-xmlid='mail_connected_mailbox.mail_connected_mailbox_menu_my_mail']",
        run: "click",
    };
}

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
            trigger: ".o_form_view .o_field_widget[name=email] input",
            run: `edit ${cookie("mcm_address")}`,
        },
        {
            content: "IMAP server",
            trigger: ".o_form_view .o_field_widget[name=imap_host] input",
            run: "edit 127.0.0.1",
        },
        {
            content: "No TLS on the local test server",
            trigger: ".o_form_view .o_field_widget[name=imap_security] select",
            run: `select "none"`,
        },
        {
            content: "IMAP port",
            trigger: ".o_form_view .o_field_widget[name=imap_port] input",
            run: `edit ${cookie("mcm_imap_port")}`,
        },
        {
            content: "SMTP server",
            trigger: ".o_form_view .o_field_widget[name=smtp_host] input",
            run: "edit 127.0.0.1",
        },
        {
            content: "No TLS for SMTP either",
            trigger: ".o_form_view .o_field_widget[name=smtp_security] select",
            run: `select "none"`,
        },
        {
            content: "SMTP port",
            trigger: ".o_form_view .o_field_widget[name=smtp_port] input",
            run: `edit ${cookie("mcm_smtp_port")}`,
        },
        {
            content: "Password",
            trigger: ".o_form_view .o_field_widget[name=password] input",
            run: `edit ${cookie("mcm_password")}`,
        },
        {
            content: "Test the connection",
            trigger: ".o_form_view button[name=action_test_connection]",
            run: "click",
        },
        {
            content: "The test succeeds",
            trigger: ".o_notification:contains('Connection works')",
        },
        {
            content: "The form shows the test, step by step",
            trigger: ".o_notebook .nav-link:contains('Last check')",
        },
        {
            content: "Connect",
            trigger: ".o_form_view button[name=action_connect]",
            run: "click",
        },
        {
            content: "The mailbox is connected",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Connected')",
        },
    ],
});

// The README's demo ("Try it without any external account"), in the browser. The
// provider's consent page lies on another site: the test drives it between two tours.

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_new_oauth_mailbox", {
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Mailboxes",
            trigger: ".o_app[data-menu-xmlid='mail_connected_mailbox.mail_connected_mailbox_menu_root']",
            run: "click",
        },
        {
            content: "Mailboxes › New",
            trigger: ".o_control_panel .o-kanban-button-new",
            run: "click",
        },
        {
            content: "Choose the kind",
            trigger: `.o_field_widget[name=provider] input[data-value=${cookie("mcm_kind")}]`,
            run: "click",
        },
        {
            content: "Type the address",
            trigger: ".o_field_widget[name=email] input",
            run: `edit ${cookie("mcm_address")}`,
        },
        {
            content: "Save",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved, and named after its address",
            trigger: `.o_breadcrumb .active:contains('${cookie("mcm_address")}')`,
        },
        {
            content: "Connect: the provider's sign-in page opens",
            trigger: ".o_form_view button[name=action_connect]",
            run: "click",
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_oauth_connected", {
    steps: () => [
        {
            content: "Back on the mailbox: connected",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Connected')",
        },
        {
            content: "Named after its address",
            trigger: `.o_breadcrumb .active:contains('${cookie("mcm_address")}')`,
        },
        {
            content: "Its folders are listed",
            trigger: ".o_notebook .nav-link:contains('Folders')",
            run: "click",
        },
        {
            content: "The Inbox is there, with its role in words",
            trigger: ".o_field_widget[name=folder_ids] .o_data_row td[name=role]:contains('Inbox')",
        },
        {
            content: "The Servers tab shows the servers used",
            trigger: ".o_notebook .nav-link:contains('Servers')",
            run: "click",
        },
        {
            content: "The IMAP port has no thousands separator",
            trigger: `.o_field_widget[name=imap_port]:contains('${cookie("mcm_imap_port")}')`,
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_revoked_turns_red", {
    steps: () => [
        {
            content: "The mailbox still looks connected",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Connected')",
        },
        {
            content: "Check access (one button: no separate Test connection once connected)",
            trigger: ".o_form_view .o_statusbar_buttons:not(:has(button[name=action_test_connection])) button[name=action_check_now]",
            run: "click",
        },
        {
            content: "The check says why it failed",
            trigger: ".o_notification:contains('Check failed')",
        },
        {
            content: "The mailbox turned to Access lost",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Access lost')",
        },
        {
            content: "The cause and the fix are on the form",
            trigger: ".o_form_view .alert-danger:contains('no longer accepts'):contains('Reconnect')",
        },
        {
            content: "Reconnect is offered",
            trigger: ".o_form_view button[name=action_reconnect].btn-primary",
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_refusal_on_the_form", {
    steps: () => [
        {
            content: "The mailbox is not connected",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Not connected')",
        },
        {
            content: "The form says what happened and how to fix it",
            trigger: ".o_form_view .alert-warning:contains('not given every permission'):contains('Connect')",
        },
        {
            content: "The chatter keeps the refused sign-in",
            trigger: ".o-mail-Message:contains('Sign-in refused')",
        },
    ],
});

// Shareable reconnect link: the owner of a mailbox whose access was lost gets a link,
// opens it as whoever holds the inbox would, types a wrong then the right password.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_shareable_link", {
    steps: () => [
        {
            content: "The mailbox lost its access",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Access lost')",
        },
        {
            content: "Check access",
            trigger: ".o_form_view button[name=action_check_now]:contains('Check access')",
            run: "click",
        },
        {
            content: "The check failed, and says why",
            trigger: ".o_notification:contains('Check failed')",
        },
        {
            content: "The form keeps the status, the cause and the fix",
            trigger: ".o_form_view:has(.o_arrow_button_current:contains('Access lost')) .alert-danger:contains('refused the login or password')",
        },
        {
            content: "The check is in the history",
            trigger: ".o_notebook .nav-link:contains('Check history')",
        },
        {
            content: "Open the More menu",
            trigger: ".o_form_view .o_statusbar_buttons .o_mcm_actions_menu",
            run: "click",
        },
        {
            content: "Get shareable link",
            trigger: ".o_mcm_actions_menu_item[data-name=action_get_reconnect_link]",
            run: "click",
        },
        {
            content: "The link is shown once, to copy, with its end date",
            trigger: ".modal .o_field_widget[name=url]:contains('/mailbox/reconnect/')",
        },
        {
            content: "Open the link, as whoever holds the inbox would",
            trigger: ".modal .o_field_widget[name=expires_at]",
            run() {
                window.location.href = document.querySelector(".modal .o_field_widget[name=url] span").textContent;
            },
        },
        {
            content: "The page names the mailbox and who asked",
            trigger: ".o_mcm_link_page h1:contains('Reconnect'):contains('@mail.test')",
        },
        {
            content: "Type a wrong password",
            trigger: ".o_mcm_link_page input[name=password]",
            run: "edit not-the-password",
        },
        {
            content: "Reconnect",
            trigger: ".o_mcm_link_page button[type=submit]",
            run: "click",
        },
        {
            content: "The page says what happened and how to fix it",
            trigger: ".o_mcm_link_page .alert-danger:contains('refused the login or password')",
        },
        {
            content: "Type the right password",
            trigger: ".o_mcm_link_page input[name=password]",
            run: `edit ${cookie("mcm_password")}`,
        },
        {
            content: "Reconnect again",
            trigger: ".o_mcm_link_page button[type=submit]",
            run: "click",
        },
        {
            content: "Done",
            trigger: ".o_mcm_link_page h1:contains('is connected to Odoo again')",
        },
    ],
});

// Health board (mailbox administrators): the lost mailbox with its cause; Check now
// and reconnect links to the owners, on the selection.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_health_board", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Mailboxes",
            trigger: ".o_app[data-menu-xmlid='mail_connected_mailbox.mail_connected_mailbox_menu_root']",
            run: "click",
        },
        {
            content: "Open the Health board",
            trigger: ".o_main_navbar [data-menu-xmlid='mail_connected_mailbox.mail_connected_mailbox_menu_health']",
            run: "click",
        },
        {
            content: "The lost mailbox shows with its cause",
            trigger: ".o_list_view .o_data_row:contains('Access lost'):contains('refused the login or password')",
        },
        {
            content: "Select it",
            trigger: ".o_list_view .o_data_row:contains('Access lost') .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Check access",
            trigger: "button[name=action_bulk_check]:contains('Check access')",
            run: "click",
        },
        {
            content: "The check says what it found",
            trigger: ".o_notification:contains('1 checked: 0 worked, 1 failed.')",
        },
        {
            content: "Send reconnect links to owners",
            trigger: "button[name=action_bulk_send_links]",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal button:contains('Ok')",
            run: "click",
        },
        {
            content: "Each owner got one message",
            trigger: ".o_notification:contains('1 owner got one message.')",
        },
    ],
});

// A campaign paused with its mailbox: the reason on the mailing, then Resume.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_campaign_resume", {
    steps: () => [
        {
            content: "The campaign says why it is paused",
            trigger: ".o_form_view .alert-warning:contains('Paused'):contains('was lost')",
        },
        {
            content: "Resume",
            trigger: ".o_form_view button[name=action_mcm_resume]",
            run: "click",
        },
        {
            content: "The campaign is queued again",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('In Queue')",
        },
    ],
});

// Sync now on a connected mailbox: the progress on the form, then its messages.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_sync", {
    steps: () => [
        {
            content: "Sync now",
            trigger: ".o_form_view button[name=action_sync_now]",
            run: "click",
        },
        {
            content: "The sync says how far it is",
            trigger: ".o_notification:contains('10 messages fetched, 15 still to fetch')",
        },
        {
            content: "The form shows the progress of the past mail",
            trigger: ".o_form_view .alert-info:contains('Fetching past mail'):contains('15')",
        },
        {
            content: "Open the messages",
            trigger: ".o_form_view button[name=action_open_synced_messages]:contains('10')",
            run: "click",
        },
        {
            content: "The newest message comes first",
            trigger: ".o_list_view .o_data_row:first .o_data_cell[name=subject]:contains('Offer 0')",
            run: "click",
        },
        {
            content: "The message opens with its text",
            trigger: ".o_form_view .o_field_widget[name=body]:contains('Hello')",
        },
    ],
});

// My mail: a salesperson reads a synced message, then opens the lead it was logged on.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_my_mail", {
    url: "/odoo",
    steps: () => [
        ...openMyMail(),
        {
            content: "Read the message",
            trigger: ".o_list_view .o_data_row .o_data_cell[name=subject]:contains('Question about the offer')",
            run: "click",
        },
        {
            content: "The message shows",
            trigger: ".o_form_view .o_field_widget[name=body]:contains('Hello')",
        },
        {
            content: "It says where it is logged",
            trigger: ".o_form_view .o_field_widget[name=logged_on]:contains('Spring deal')",
        },
        {
            content: "Open its conversation",
            trigger: ".o_form_view .o_notebook a[name=conversation]",
            run: "click",
        },
        {
            content: "The answer that followed is in it",
            trigger: ".o_form_view .o_field_widget[name=thread_ids] .o_data_row:contains('Follow-up')",
        },
        {
            content: "Open the lead it was logged on",
            trigger: ".o_form_view button[name=action_open_logged_record]",
            run: "click",
        },
        {
            content: "The lead opens",
            trigger: ".o_form_view .o_field_widget[name=name]:contains('Spring deal'), .o_form_view .o_field_widget[name=name] textarea",
        },
        {
            content: "The lead's chatter has the message",
            trigger: ".o-mail-Message:contains('Question about the offer')",
        },
    ],
});

// My mail: a salesperson archives a message (out of the list, and of the mailbox's Inbox).
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_archive", {
    steps: () => [
        {
            content: "On the mailbox, tick Archive in the mailbox what is archived in Odoo",
            trigger: ".o_form_view .o_field_widget[name=archive_on_server] input",
            run: "click",
        },
        {
            content: "Save the mailbox",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_saved .o_field_widget[name=archive_on_server] input:checked",
        },
        myMailMenu(),
        {
            content: "Open the message",
            trigger: ".o_list_view .o_data_row .o_data_cell[name=subject]:contains('Question about the offer')",
            run: "click",
        },
        {
            content: "Archive it",
            trigger: ".o_form_view button[name=action_archive]",
            run: "click",
        },
        {
            content: "It says so",
            trigger: ".o_form_view .ribbon:contains('Archived')",
        },
        {
            content: "Back to My mail",
            trigger: ".o_breadcrumb .o_back_button, .o_breadcrumb a:contains('My mail')",
            run: "click",
        },
        {
            content: "The other message is listed, the archived one is not",
            trigger:
                ".o_list_view:not(:has(.o_data_cell:contains('Question about the offer'))) .o_data_cell:contains('Keep me')",
        },
    ],
});

// My mail: the Archived filter finds it again, and Restore to the Inbox brings it back.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_restore", {
    url: "/odoo",
    steps: () => [
        ...openMyMail(),
        {
            content: "Open the search options",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Show the archived messages",
            trigger: ".o_filter_menu .o_menu_item:contains('Archived')",
            run: "click",
        },
        {
            content: "Open the archived message",
            trigger: ".o_list_view .o_data_row .o_data_cell[name=subject]:contains('Question about the offer')",
            run: "click",
        },
        {
            content: "Restore it to the Inbox",
            trigger: ".o_form_view button[name=action_unarchive]",
            run: "click",
        },
        {
            content: "It is no longer archived",
            trigger: ".o_form_view:not(:has(.ribbon)) button[name=action_archive]",
        },
    ],
});
