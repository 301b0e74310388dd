import { registry } from "@web/core/registry";

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

const MESSAGE = (text) => `.o-mail-Message:has(.o-mail-Message-body:contains('${text}'))`;
const POPOVER = ".o-mail-MessageNotificationPopover";

// A message that left through the mailbox: its envelope's popover names the mailbox and
// its Sent copy.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_chatter_sent", {
    steps: () => [
        {
            content: "The sent message is in the chatter, with an envelope and no waiting mark",
            trigger: `${MESSAGE("Offer that left")} .o-mail-Message-notification:not(:has(.fa-clock-o))`,
            run: "click",
        },
        {
            content: "The popover shows the recipient as sent",
            trigger: `${POPOVER}:contains('Customer') i.fa-check`,
        },
        {
            content: "The popover names the mailbox it went through and its Sent copy",
            trigger: `${POPOVER} .o-mcm-through:contains('Sent through alice@mail.test; a copy is in its Sent folder.')`,
        },
    ],
});

// A message held for the mailbox (access lost): its own icon, a popover with the reason and
// when it leaves; posting again says so at once.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_chatter_held", {
    steps: () => [
        {
            content: "The held message shows as waiting, with its own icon",
            trigger: `${MESSAGE("Offer that waits")} .o-mail-Message-notification:has(i.fa-clock-o):contains('Waiting')`,
            run: "click",
        },
        {
            content: "The popover: the recipient waits (no sent icon)",
            trigger: `${POPOVER}:contains('Customer'):has(i.fa-clock-o):not(:has(.fa-send-o)):not(:has(.fa-check))`,
        },
        {
            content: "The popover says why",
            trigger: `${POPOVER} .o-mcm-held .o-mcm-reason:contains('Access to alice@mail.test was lost.')`,
        },
        {
            content: "The popover says when it leaves",
            trigger: `${POPOVER} .o-mcm-held .o-mcm-leaves:contains('It leaves when alice@mail.test is reconnected.')`,
        },
        {
            content: "Close the popover",
            trigger: ".o-mail-Chatter-sendMessage",
            run: "click",
        },
        {
            content: "Write a message to the followers",
            trigger: ".o-mail-Composer-input",
            run: "edit Posted while it waits",
        },
        {
            content: "Send it",
            trigger: ".o-mail-Composer-send:enabled",
            run: "click",
        },
        {
            content: "Odoo says at once that it waits, why and when it leaves",
            trigger:
                ".o_notification:contains('Your message waits'):contains('Access to alice@mail.test was lost.'):contains('It leaves when alice@mail.test is reconnected.')",
        },
        {
            content: "The new message shows as waiting too",
            trigger: `${MESSAGE("Posted while it waits")} .o-mail-Message-notification i.fa-clock-o`,
        },
    ],
});

// The mailbox form: the Odoo email is not the mailbox's address; one click fixes it.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_my_mail_address_form", {
    steps: () => [
        {
            content: "The form says the Odoo email is not the mailbox's address",
            trigger:
                ".o_form_view .o_mcm_address_notice:contains('Your Odoo email is ann@example.com, not alice@mail.test')",
        },
        {
            content: "One click: send my Odoo mail from this mailbox",
            trigger: ".o_form_view .o_mcm_address_notice button[name=action_mcm_send_my_mail_from_here]",
            run: "click",
        },
        {
            content: "Odoo says where the mail leaves from now",
            trigger: ".o_notification:contains('Your Odoo mail leaves from alice@mail.test')",
        },
        {
            content: "The form says it, and the notice is gone",
            trigger: ".o_form_view:not(:has(.o_mcm_address_notice:visible)) .o_mcm_sends_my_mail:contains('Your Odoo mail leaves from this mailbox')",
        },
    ],
});

// Preferences › Mailboxes: the same notice, and the button on the mailbox's row.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_my_mail_address_preferences", {
    url: "/odoo",
    steps: () => [
        ...openPreferencesMailboxes(),
        {
            content: "Preferences say the Odoo email is none of the mailboxes",
            trigger: ".modal .o_mcm_address_notice:contains('Your Odoo email is ann@example.com, which is none of your mailboxes')",
        },
        {
            content: "The mailbox's row offers the one click",
            trigger:
                ".modal .o_field_widget[name=mailbox_ids] .o_data_row:contains('alice@mail.test') button[name=action_mcm_send_my_mail_from_here]",
            run: "click",
        },
        {
            content: "Odoo says where the mail leaves from now",
            trigger: ".o_notification:contains('Your Odoo mail leaves from alice@mail.test')",
        },
        {
            content: "Preferences open again: the Mailboxes tab",
            trigger: ".modal .o_notebook .nav-link:contains('Mailboxes')",
            run: "click",
        },
        {
            content: "The row now says the mail leaves from it, and the notice is gone",
            trigger:
                ".modal:not(:has(.o_mcm_address_notice:visible)) .o_field_widget[name=mailbox_ids] .o_data_row:contains('alice@mail.test') td[name=mcm_sends_my_mail] input:checked",
        },
    ],
});
