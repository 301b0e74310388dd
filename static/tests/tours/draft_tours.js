import { registry } from "@web/core/registry";

const SUBJECT = "Tour offer";
const TEXT = "A draft written in the tour";

// A reply closed with the dialog's X is kept as a draft; My mail > Drafts continues it,
// and Send sends it (the test then checks the server and the SMTP sink).
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_draft_kept_resumed", {
    steps: () => [
        {
            content: "Open the customer's message",
            trigger: `.o_list_view .o_data_row td[name=subject]:contains('${SUBJECT}')`,
            run: "click",
        },
        {
            content: "Reply",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_mcm_reply]",
            run: "click",
        },
        {
            content: "The composer opens with the quote",
            trigger: ".modal .o_mcm_composer .o_field_html[name=body]:contains('wrote:')",
        },
        {
            content: "Write a first line",
            trigger: ".modal .o_mcm_composer .o_field_html[name=body] .odoo-editor-editable > p:first-child",
            run: `editor ${TEXT}`,
        },
        {
            content: "Close the composer with its X",
            trigger: ".modal .modal-header .btn-close",
            run: "click",
        },
        {
            content: "The draft is kept, and said so",
            trigger: "body:not(:has(.modal)) .o_notification:contains('Draft kept'):contains('Drafts folder of bob@mail.test')",
        },
        {
            content: "Open My mail's Drafts",
            trigger: ".o_menu_sections [data-menu-xmlid='mail_connected_mailbox.mail_connected_mailbox_menu_drafts']",
            run: "click",
        },
        {
            content: "Continue the draft",
            trigger: `.o_list_view .o_data_row:has(td[name=subject]:contains('Re: ${SUBJECT}')) button[name=action_mcm_continue]`,
            run: "click",
        },
        {
            content: "The composer shows what was written",
            trigger: `.modal .o_mcm_composer .o_field_html[name=body]:contains('${TEXT}')`,
        },
        {
            content: "Change the subject",
            trigger: ".modal .o_mcm_composer .o_field_widget[name=subject] input",
            run: `edit Re: ${SUBJECT}, revised`,
        },
        {
            content: "Keep as draft, on purpose this time",
            trigger: ".modal .o_mcm_keep_draft",
            run: "click",
        },
        {
            content: "The composer closes; the draft has its new subject",
            trigger: `body:not(:has(.modal)) .o_list_view .o_data_row td[name=subject]:contains('Re: ${SUBJECT}, revised')`,
        },
        {
            content: "Continue it again",
            trigger: `.o_list_view .o_data_row:has(td[name=subject]:contains('revised')) button[name=action_mcm_continue]`,
            run: "click",
        },
        {
            content: "Send",
            trigger: `.modal:has(.o_field_html[name=body]:contains('${TEXT}')) .o_mcm_send`,
            run: "click",
        },
        {
            content: "The composer closes, and the draft is no longer listed",
            trigger: `body:not(:has(.modal)) .o_action_manager:not(:has(td[name=subject]:contains('Re: ${SUBJECT}')))`,
        },
    ],
});
