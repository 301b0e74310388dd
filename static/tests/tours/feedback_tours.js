import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// the figures of a form: {field name: text shown}, compared with what the test wrote
function checkFigures(scope, expected) {
    return {
        content: `The figures shown: ${JSON.stringify(expected)}`,
        trigger: `${scope} .o_inner_group .o_field_widget[name=mcm_sent_30]`,
        run() {
            for (const [name, value] of Object.entries(expected)) {
                const field = document.querySelector(`${scope} .o_inner_group .o_field_widget[name=${name}]`);
                if (!field) {
                    throw new Error(`The form does not show ${name}`);
                }
                if (field.textContent.trim() !== String(value)) {
                    throw new Error(`${name} shows ${field.textContent.trim()}, not ${value}`);
                }
            }
        },
    };
}

// the graph by day, then the same as a pivot whose first figure is the total sent
function graphThenPivot(sent30) {
    return [
        {
            content: "The graph by day shows",
            trigger: ".o_graph_view .o_graph_canvas_container canvas",
        },
        {
            content: "It is the sending by day",
            trigger: ".o_breadcrumb:contains('Sending of')",
        },
        {
            content: "Switch to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot totals what was sent over 30 days",
            trigger: ".o_pivot table tbody tr:first-child td.o_pivot_cell_value .o_value",
            run() {
                const header = document.querySelector(".o_pivot table thead th.o_pivot_measure_row");
                if (!header || !header.textContent.includes("Sent")) {
                    throw new Error(`The first measure is not Sent: ${header && header.textContent}`);
                }
                const total = document.querySelector(".o_pivot table tbody tr:first-child td.o_pivot_cell_value");
                if (total.textContent.trim() !== String(sent30)) {
                    throw new Error(`The pivot totals ${total.textContent.trim()} sent, not ${sent30}`);
                }
            },
        },
    ];
}

// README, Campaign feedback: "open the mailbox (Mailboxes in the main menu), read the
// Campaign feedback group, click Sent (30 days) for the graph by day"
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_feedback_mailbox", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the Mailboxes app",
            trigger: ".o_app[data-menu-xmlid='mail_connected_mailbox.mail_connected_mailbox_menu_root']",
            run: "click",
        },
        {
            content: "Open the mailbox",
            trigger: ".o_kanban_record:contains('bob@mail.test')",
            run: "click",
        },
        {
            content: "The form has the Campaign feedback group",
            trigger: ".o_form_view .o_inner_group:contains('Last 7 days')",
        },
        checkFigures(".o_form_view", {
            mcm_sent_7: 6,
            mcm_hard_7: 1,
            mcm_soft_7: 1,
            mcm_replied_7: 1,
            mcm_sent_30: 10,
            mcm_hard_30: 2,
            mcm_soft_30: 1,
            mcm_replied_30: 1,
        }),
        {
            content: "Open the graph by day",
            trigger: ".o_form_view button.o_mcm_send_days:contains('Sent (30 days)')",
            run: "click",
        },
        ...graphThenPivot(10),
    ],
});

// README, Campaign feedback: "on the campaign, the Campaign feedback tab shows the same
// figures, and Graph by day opens its graph"
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_feedback_mailing", {
    steps: () => [
        {
            content: "Open the Campaign feedback tab",
            trigger: ".o_form_view .o_notebook .nav-link:contains('Campaign feedback')",
            run: "click",
        },
        checkFigures(".o_form_view .o_notebook", {
            mcm_sent_7: 5,
            mcm_hard_7: 1,
            mcm_soft_7: 1,
            mcm_replied_7: 1,
            mcm_sent_30: 9,
            mcm_hard_30: 2,
            mcm_soft_30: 1,
            mcm_replied_30: 1,
        }),
        {
            content: "Open the campaign's graph by day",
            trigger: ".o_form_view .o_notebook button[name=action_mcm_open_send_days]",
            run: "click",
        },
        ...graphThenPivot(9),
    ],
});

// README, Campaign feedback: "a hard-bounce rate above 5 % pauses every campaign sending
// through it, with the reason … After Resume … The Health board lists mailboxes that bounce"
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_bouncing_on_board", {
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
            content: "The mailbox that bounces needs attention, with its hard-bounce rate",
            trigger: ".o_list_view .o_data_row:contains('alice@mail.test') td[name=mcm_bounce_rate]:contains('7.0')",
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_bounce_resume", {
    steps: () => [
        {
            content: "The campaign says why it is paused and what to do",
            trigger:
                ".o_form_view .o_mcm_paused:contains('7 of the last 100 messages bounced: check the list before you resume')" +
                ":contains('remove the addresses that bounced')",
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
