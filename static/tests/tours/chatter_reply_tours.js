import { registry } from "@web/core/registry";

// mail is shown in a shadow root: messages are found by their subject line
const COPY = ".o-mail-Chatter .o-mail-Message:has(em:contains('Subject: Spring offer'))";
const COMPOSER = ".modal .o_mcm_composer";
const TYPED = "Thanks, the offer stands until Friday.";

// Reply on the customer's message logged in a lead's chatter: the composer of My mail opens
// on the lead, addressed to the customer and quoting the message; once sent, the reply is
// in the lead's chatter.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_reply_from_lead_chatter", {
    steps: () => [
        {
            content: "The customer's message is logged in the lead's chatter; click its Reply",
            trigger: COPY,
            run: `hover && click ${COPY} button[name='mcm-reply']`,
        },
        {
            content: "The composer is addressed to the customer",
            trigger: `${COMPOSER} .o_field_widget[name=mcm_email_to] input:value(lead@customer.test)`,
        },
        {
            content: "... from the mailbox",
            trigger: `${COMPOSER} .o_field_widget[name=mcm_from]:contains('bob@mail.test')`,
        },
        {
            content: "... with the subject of a reply",
            trigger: `${COMPOSER} .o_field_widget[name=subject] input:value(Re: Spring offer)`,
        },
        {
            content: "... and the message quoted",
            trigger: `${COMPOSER} .o_mcm_body blockquote:contains('Hello')`,
        },
        {
            content: "Write the answer above the quote",
            trigger: `${COMPOSER} .o_mcm_body .odoo-editor-editable > p:first-child`,
            run: `editor ${TYPED}`,
        },
        {
            content: "Send",
            trigger: ".modal-footer button.o_mcm_send", // a dialog takes the footer out of the form
            run: "click",
        },
        {
            content: "The composer closes and the reply shows in the lead's chatter",
            trigger: "body:not(:has(.modal)) .o-mail-Chatter .o-mail-Message em:contains('Subject: Re: Spring offer')",
        },
    ],
});
