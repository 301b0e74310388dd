import { registry } from "@web/core/registry";

// What the screens say and offer: units in Settings, the mailbox's header, a paused
// campaign, a refused new password. Each step fails when the screen says otherwise.

function fail(message) {
    throw new Error(message);
}

function visible(el) {
    return !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
}

function headerButtons() {
    const bar = document.querySelector(".o_form_view .o_form_statusbar .o_statusbar_buttons");
    return [...bar.querySelectorAll("button")].filter(visible);
}

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_words_settings", {
    url: "/odoo/settings",
    steps: () => [
        {
            content: "Open the Connected Mailboxes section",
            trigger: ".settings_tab [data-key='mail_connected_mailbox']",
            run: "click",
        },
        {
            content: "Past mail: the number of days says 'days'",
            trigger: ".o_field_widget[name=mcm_backfill_days] + span:contains('days')",
        },
        {
            content: "New mail: minutes and MB are written beside their numbers",
            trigger:
                ".o_field_widget[name=mcm_sync_minutes] + span:contains('minutes'):visible",
        },
        {
            trigger: ".o_field_widget[name=mcm_max_message_mb] + span:contains('MB'):visible",
        },
        {
            content: "Access checks: minutes, and days between reminders",
            trigger: ".o_field_widget[name=mcm_health_check_minutes] + span:contains('minutes'):visible",
        },
        {
            trigger: ".o_field_widget[name=mcm_reminder_days] + span:contains('days'):visible",
        },
        {
            content: "The redirect URIs are shown whole, not cut",
            trigger: ".o_field_widget[name=mcm_microsoft_redirect_uri] span:contains('/callback')",
            run() {
                for (const name of ["mcm_google_redirect_uri", "mcm_microsoft_redirect_uri"]) {
                    const span = document.querySelector(`.o_field_widget[name=${name}] > div > span`);
                    if (!span || !span.textContent.includes("/mail_connected_mailbox/oauth/")) {
                        fail(`${name}: the redirect URI is not shown`);
                    }
                    if (span.scrollWidth > span.clientWidth + 1) {
                        fail(`${name}: the redirect URI is cut (${span.scrollWidth} > ${span.clientWidth})`);
                    }
                    if (getComputedStyle(span).textOverflow === "ellipsis" && getComputedStyle(span).whiteSpace === "nowrap") {
                        fail(`${name}: the redirect URI is on one line, cut with an ellipsis`);
                    }
                }
            },
        },
        {
            content: "It is still copied with one click",
            trigger: ".o_field_widget[name=mcm_google_redirect_uri] .o_clipboard_button",
        },
    ],
});

// A connected mailbox: Sync now (primary), Check access, and the More menu; nothing else.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_words_header", {
    steps: () => [
        {
            content: "The mailbox is connected",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Connected')",
        },
        {
            content: "The header shows a few buttons, one primary, and the More menu",
            trigger: ".o_form_view .o_statusbar_buttons .o_mcm_actions_menu",
            run() {
                const buttons = headerButtons();
                const names = buttons.map((b) => b.getAttribute("name") || b.textContent.trim());
                if (buttons.length !== 3) {
                    fail(`3 header buttons expected (Sync now, Check access, More), found: ${names.join(", ")}`);
                }
                const primary = buttons.filter((b) => b.classList.contains("btn-primary"));
                if (primary.length !== 1 || primary[0].getAttribute("name") !== "action_sync_now") {
                    fail(`one primary button, Sync now, expected: ${primary.map((b) => b.textContent.trim())}`);
                }
                for (const name of ["action_test_connection", "action_reconnect", "action_disable",
                    "action_disconnect", "action_get_reconnect_link"]) {
                    if (buttons.some((b) => b.getAttribute("name") === name)) {
                        fail(`${name} should be in the More menu, not in the header`);
                    }
                }
                if (!buttons.some((b) => b.getAttribute("name") === "action_check_now" && b.textContent.includes("Check access"))) {
                    fail("Check access is missing");
                }
            },
        },
        {
            content: "Open the More menu",
            trigger: ".o_form_view .o_statusbar_buttons .o_mcm_actions_menu",
            run: "click",
        },
        {
            content: "It holds the rest, one name each",
            trigger: ".o_mcm_actions_menu_item[data-name=action_disconnect]",
            run() {
                const labels = [...document.querySelectorAll(".o_mcm_actions_menu_item")].map((i) => i.textContent.trim());
                const expected = ["Reconnect (sign in again)", "Get shareable link", "Disable sync", "Disconnect"];
                if (JSON.stringify(labels) !== JSON.stringify(expected)) {
                    fail(`More menu: ${labels.join(" | ")}`);
                }
            },
        },
        {
            content: "Disable sync",
            trigger: ".o_mcm_actions_menu_item[data-name=action_disable]",
            run: "click",
        },
        {
            content: "The confirmation says mail is held while disabled",
            trigger: ".modal:contains('mail sent through it is held') .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The form says the mailbox is disabled and mail is held",
            trigger: ".o_form_view .alert:contains('Sync is disabled'):contains('held')",
        },
        {
            content: "No next check while disabled; Enable sync is the one primary button",
            trigger: ".o_form_view:has(.o_arrow_button_current:contains('Disabled')) .alert:contains('Sync is disabled')",
            run() {
                if (visible(document.querySelector(".o_form_view .o_field_widget[name=next_check_at]"))) {
                    fail("Next check is shown on a disabled mailbox");
                }
                const primary = headerButtons().filter((b) => b.classList.contains("btn-primary"));
                if (primary.length !== 1 || primary[0].getAttribute("name") !== "action_enable") {
                    fail("Enable sync should be the one primary button");
                }
            },
        },
        {
            content: "Open the gear menu",
            trigger: ".o_control_panel .o_cp_action_menus button",
            run: "click",
        },
        {
            content: "No Duplicate (an address is connected once)",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains('Archive')",
            run() {
                const items = [...document.querySelectorAll(".o-dropdown--menu .o-dropdown-item")].map((i) => i.textContent.trim());
                if (items.some((text) => text.includes("Duplicate"))) {
                    fail(`Duplicate is offered: ${items.join(" | ")}`);
                }
            },
        },
        {
            content: "Archive",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains('Archive')",
            run: "click",
        },
        {
            content: "The confirmation says archiving disconnects the mailbox",
            trigger: ".modal:contains('Archiving disconnects the mailbox') .modal-footer button:contains('Cancel')",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});

// A new password the server refuses is refused on Save, at once.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_words_wrong_password", {
    steps: () => [
        {
            content: "The mailbox is connected",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Connected')",
        },
        {
            content: "Open the Servers tab",
            trigger: ".o_notebook .nav-link:contains('Servers')",
            run: "click",
        },
        {
            content: "Type a wrong new password",
            trigger: ".o_form_view .o_field_widget[name=password] input",
            run: "edit not-the-password",
        },
        {
            content: "Save",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Refused at once: the old password is kept, and why",
            trigger: ".modal:contains('new password was refused'):contains('keeps its previous password'):contains('refused the login or password')",
        },
        {
            content: "Close",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "Discard the typed password",
            trigger: ".o_form_view .o_form_button_cancel",
            run: "click",
        },
        {
            content: "Still connected",
            trigger: ".o_form_view:not(:has(.o_form_button_save:visible)) .o_statusbar_status button.o_arrow_button_current:contains('Connected')",
        },
    ],
});

// A paused campaign: Resume is the only primary button, Send and Schedule are gone, and
// the form says which mailbox it waits for, and why.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_words_paused_mailing", {
    steps: () => [
        {
            content: "The campaign is paused",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Paused')",
        },
        {
            content: "It says which mailbox it waits for and the cause",
            trigger:
                ".o_form_view .alert-warning:contains('Paused'):contains('alice@mail.test'):contains('refused the login or password')",
        },
        {
            content: "Only Resume is primary; Send and Schedule are hidden",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_mcm_resume]",
            run() {
                const buttons = headerButtons();
                const primary = buttons.filter((b) => b.classList.contains("btn-primary") || b.classList.contains("oe_highlight"));
                if (primary.length !== 1 || primary[0].getAttribute("name") !== "action_mcm_resume") {
                    fail(`one primary button, Resume, expected: ${primary.map((b) => b.textContent.trim()).join(", ")}`);
                }
                for (const name of ["action_launch", "action_schedule"]) {
                    if (buttons.some((b) => b.getAttribute("name") === name)) {
                        fail(`${name} is shown on a paused campaign`);
                    }
                }
            },
        },
    ],
});

// The health board: address, owner and kind readable; the fix beside the cause.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_words_health_board", {
    steps: () => [
        {
            content: "The lost mailbox is listed with its cause and its fix",
            trigger:
                ".o_list_view .o_data_row:contains('Access lost') td[name=last_error_fix]:contains('Reconnect')",
        },
        {
            content: "The Fix column is shown, and address, owner and kind are not cut",
            trigger: ".o_list_view th[data-name=last_error_fix]",
            run() {
                const row = document.querySelector(".o_list_view .o_data_row");
                for (const name of ["email", "user_id", "provider"]) {
                    const cell = row.querySelector(`td[name=${name}]`);
                    if (!cell) {
                        fail(`no ${name} column`);
                    }
                    const inner = cell.querySelector("span, a, div") || cell;
                    if (cell.scrollWidth > cell.clientWidth + 1 || inner.scrollWidth > inner.clientWidth + 1) {
                        fail(`${name} is cut: ${cell.textContent.trim()}`);
                    }
                }
                const width = (name) => document.querySelector(`.o_list_view th[data-name=${name}]`).offsetWidth;
                if (width("last_error_cause") > 2 * width("email")) {
                    fail(`Cause takes ${width("last_error_cause")}px beside the address's ${width("email")}px`);
                }
            },
        },
    ],
});
