import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// Tours of what shows without a reload (tests/test_web_live.py). Most run one after
// another in the same page, the test doing the server's part in between: the first
// marks the page, and the test checks at the end that the mark is still there.

const BANNER = ".o_form_view .alert-info:contains('Fetching past mail')";

function markThePage() {
    return {
        content: "Mark the page (a reload would drop the mark)",
        trigger: "body",
        run: () => {
            window.mcmLivePage = true;
        },
    };
}

function messagesButton(count) {
    return {
        content: `The Messages button counts ${count}`,
        trigger: `.o_form_view button[name=action_open_synced_messages] .o_stat_value:contains('${count}')`,
    };
}

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_form_ready", {
    steps: () => [
        {
            content: "The mailbox form is open, connected",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Connected')",
        },
        {
            content: "Nothing fetched yet",
            trigger: `.o_form_view:not(:has(${BANNER.replace(".o_form_view ", "")}))`,
        },
        markThePage(),
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_first_batch", {
    steps: () => [
        {
            content: "The first batch shows by itself, with the same count as the Messages button",
            trigger: `${BANNER}:contains('Fetching past mail: 10 messages fetched, 20 still to fetch')`,
        },
        messagesButton(10),
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_second_batch", {
    steps: () => [
        {
            content: "The next batch shows by itself",
            trigger: `${BANNER}:contains('Fetching past mail: 20 messages fetched, 10 still to fetch')`,
        },
        messagesButton(20),
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_up_to_date", {
    steps: () => [
        {
            content: "A toast says the past mail is in, and how many messages",
            trigger: ".o_notification:contains('past mail fetched'):contains('up to date (30 messages in Odoo)')",
        },
        {
            content: "The progress is gone",
            trigger: `.o_form_view:not(:has(.alert-info:contains('Fetching past mail')))`,
        },
        messagesButton(30),
    ],
});

// Check now with a password the server refuses: the Last check tab shows that check.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_check_now_report", {
    steps: () => [
        {
            content: "Open the Last check tab",
            trigger: ".o_notebook .nav-link:contains('Last check')",
            run: "click",
        },
        {
            content: "It shows the check of the connect: all green",
            trigger: ".o_field_widget[name=last_check_report]:contains('✔ SMTP AUTH')",
        },
        {
            content: "Check now",
            trigger: ".o_form_view button[name=action_check_now]",
            run: "click",
        },
        {
            content: "The check failed",
            trigger: ".o_notification:contains('Check failed')",
        },
        {
            content: "The Last check tab shows this check, step by step",
            trigger:
                ".o_field_widget[name=last_check_report]:contains('✘ IMAP Login'):contains('refused the login or password')",
        },
        {
            content: "and no longer the report of the connect",
            trigger: ".o_field_widget[name=last_check_report]:not(:contains('✔ SMTP AUTH'))",
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_health_board_check", {
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
            content: "Show every mailbox, not only those that need attention",
            trigger: ".o_searchview_facet:contains('Needs attention') .o_facet_remove",
            run: "click",
        },
        {
            content: "The mailbox is connected",
            trigger: ".o_list_view .o_data_row:contains('bob@mail.test') td[name=state]:contains('Connected')",
        },
        {
            content: "Select it",
            trigger: ".o_list_view .o_data_row:contains('bob@mail.test') .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Check now",
            trigger: "button[name=action_bulk_check]",
            run: "click",
        },
        {
            content: "The check says it failed",
            trigger: ".o_notification:contains('1 checked: 0 worked, 1 failed.')",
        },
        markThePage(),
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_health_board_row", {
    steps: () => [
        {
            content: "The row shows the new status and its cause by itself",
            trigger:
                ".o_list_view .o_data_row:contains('bob@mail.test'):contains('refused the login or password') td[name=state]:contains('Access lost')",
        },
    ],
});

// The top-bar indicator
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_no_attention", {
    steps: () => [
        {
            content: "The web client is loaded",
            trigger: ".o_main_navbar .o_menu_systray",
        },
        {
            content: "No mailbox needs attention",
            trigger: "body:not(:has(.o_mcm_attention))",
        },
        markThePage(),
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_attention", {
    steps: () => [
        {
            content: "The indicator appears in the top bar by itself",
            trigger: ".o_menu_systray .o_mcm_attention:contains('1')",
            run: "click",
        },
        {
            content: "It names the mailbox, its status and what happened",
            trigger:
                ".o_mcm_attention_item:contains('bob@mail.test'):contains('Access lost') .o_mcm_attention_cause:contains('refused the login or password')",
        },
        {
            content: "and offers Reconnect",
            trigger: ".o_mcm_attention_item:contains('bob@mail.test') .o_mcm_attention_reconnect",
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_attention_reconnect", {
    steps: () => [
        {
            content: "Reconnect from the top bar",
            trigger: ".o_mcm_attention_item:contains('bob@mail.test') .o_mcm_attention_reconnect",
            run: "click",
        },
        {
            content: "Connected",
            trigger: ".o_notification:contains('bob@mail.test is connected.')",
        },
        {
            content: "The indicator is gone",
            trigger: "body:not(:has(.o_mcm_attention))",
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_attention_gone", {
    steps: () => [
        {
            content: "The indicator is gone by itself once the mailbox works again",
            trigger: "body:not(:has(.o_mcm_attention))",
        },
    ],
});

// Back from Google's or Microsoft's sign-in: a toast says so, as Connect with a password does.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_live_oauth_toast", {
    steps: () => [
        {
            content: "The toast says the mailbox is connected",
            trigger: ".o_notification:contains('Connected'):contains('is connected.')",
        },
        {
            content: "on the mailbox, connected",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Connected')",
        },
    ],
});
