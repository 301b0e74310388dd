import { registry } from "@web/core/registry";

// Rows of My mail, by subject.
function row(subject) {
    return `.o_list_view .o_data_row:has(td[name=subject]:contains('${subject}'))`;
}

const dialog = ".modal .o_mcm_composer";

// The first line of the composer's editor (above the quote): what the salesperson types.
function type(text) {
    return {
        content: "Type the answer above the quote",
        trigger: `${dialog} .o_mcm_body .odoo-editor-editable > p:first-child`,
        run: `editor ${text}`,
    };
}

function send() {
    return [
        { content: "Send", trigger: ".modal button.o_mcm_send", run: "click" },
        { content: "The composer closes", trigger: "body:not(:has(.modal .o_mcm_composer))" },
    ];
}

function openMessage(subject) {
    return { content: `Open ${subject}`, trigger: `${row(subject)} td[name=subject]`, run: "click" };
}

// Reply from the message's form: To is the sender, the subject "Re: ", the quote below;
// once sent, the reply is in the conversation and in My mail at once, not blank.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_reply", {
    steps: () => [
        openMessage("Unread offer"),
        { content: "Reply", trigger: ".o_form_view button.o_mcm_reply", run: "click" },
        {
            content: "To is the sender",
            trigger: `${dialog} .o_mcm_to input:value(lead@customer.test)`,
        },
        { content: "The subject answers it", trigger: `${dialog} [name=subject] input:value(Re: Unread offer)` },
        { content: "The original is quoted", trigger: `${dialog} .o_mcm_body blockquote:contains('Hello')` },
        type("Thanks, the offer suits us."),
        ...send(),
        {
            content: "The reply is in the conversation at once",
            trigger: ".o_form_view .o_notebook a.nav-link:contains('Conversation')",
            run: "click",
        },
        {
            content: "... sent from Odoo",
            trigger:
                ".o_form_view [name=thread_ids] .o_data_row:has(td:contains('Re: Unread offer')) " +
                "td[name=folder_names]:contains('Sent from Odoo')",
        },
        { content: "Back to My mail", trigger: ".o_breadcrumb a:contains('My mail')", run: "click" },
        {
            content: "The reply is a row of My mail, with its sender",
            trigger: `${row("Re: Unread offer")} td[name=email_from]:contains('bob@mail.test')`,
        },
    ],
});

// Reply all: the Cc stays Cc, the mailbox's own address is not among the recipients;
// a Bcc is added.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_reply_all", {
    steps: () => [
        openMessage("Unread offer"),
        { content: "Reply all", trigger: ".o_form_view button.o_mcm_reply_all", run: "click" },
        { content: "To is the sender", trigger: `${dialog} .o_mcm_to input:value(lead@customer.test)` },
        { content: "The Cc stays Cc", trigger: `${dialog} .o_mcm_cc input:value(boss@customer.test)` },
        {
            content: "The mailbox's own address is not a recipient",
            trigger: `${dialog} .o_mcm_to input:not(:value(bob@mail.test))`,
        },
        { content: "Add a Bcc", trigger: `${dialog} .o_mcm_bcc input`, run: "edit hidden@customer.test" },
        type("Adding my manager in Bcc."),
        ...send(),
        { content: "Back to My mail", trigger: ".o_breadcrumb a:contains('My mail')", run: "click" },
        { content: "The reply is a row of My mail", trigger: row("Re: Unread offer") },
    ],
});

// Forward a message with its attachment: the attachment is in the composer, and leaves.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_forward_attachment", {
    steps: () => [
        openMessage("With attachment"),
        { content: "Forward", trigger: ".o_form_view button.o_mcm_forward", run: "click" },
        { content: "The subject says Fwd", trigger: `${dialog} [name=subject] input:value(Fwd: With attachment)` },
        {
            content: "The attachment comes along",
            trigger: `${dialog} .o_field_mail_composer_attachment_list:contains('offer.pdf')`,
        },
        { content: "Forward it to a colleague", trigger: `${dialog} .o_mcm_to input`, run: "edit colleague@partner.test" },
        type("See the attached offer."),
        ...send(),
        { content: "Back to My mail", trigger: ".o_breadcrumb a:contains('My mail')", run: "click" },
        { content: "The forward is a row of My mail", trigger: row("Fwd: With attachment") },
    ],
});

// New message from My mail, its body from a template.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_new_with_template", {
    steps: () => [
        { content: "New message", trigger: ".o_list_view button.o_mcm_new", run: "click" },
        { content: "It leaves from the mailbox", trigger: `${dialog} .o_mcm_from:contains('bob@mail.test')` },
        { content: "To", trigger: `${dialog} .o_mcm_to input`, run: "edit lead@customer.test" },
        { content: "Templates", trigger: ".modal .mail-composer-template-dropdown-btn", run: "click" },
        {
            content: "Pick the follow-up template",
            trigger: ".mail-composer-template-dropdown.popover .o-dropdown-item:contains('Friendly follow-up')",
            run: "click",
        },
        {
            content: "The template's words are in the body",
            trigger: `${dialog} .o_mcm_body:contains('Following up on our call')`,
        },
        { content: "Subject", trigger: `${dialog} [name=subject] input`, run: "edit Our call" },
        ...send(),
        { content: "The new message is a row of My mail", trigger: row("Our call") },
    ],
});
