import { registry } from "@web/core/registry";

// A synced message of My mail turned into a lead: the lead's form comes prefilled from the
// message (subject, sender), is saved as it is, and shows the message in its chatter.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_quick_lead", {
    steps: () => [
        {
            content: "Open the prospect's message in My mail",
            trigger: ".o_list_view .o_data_row td[name=subject]:contains('Seats for the spring fair')",
            run: "click",
        },
        {
            content: "Create a lead from it",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_mcm_create_lead]",
            run: "click",
        },
        {
            content: "The lead is named after the message's subject",
            trigger: ".o_form_view .o_field_widget[name=name] textarea:value('Seats for the spring fair')",
        },
        {
            content: "... and has the sender's address",
            trigger: ".o_form_view .o_field_widget[name=email_from] input:value('nora@prospect.test')",
        },
        {
            content: "Save it",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_view .o_form_saved",
        },
        {
            content: "The message is in the lead's chatter, from its sender, with its text",
            trigger: ".o_form_view .o-mail-Chatter .o-mail-Message:contains('nora@prospect.test')",
            run() {
                // an email's body is shown in a shadow root of its own, out of reach of selectors
                const texts = [...document.querySelectorAll(".o-mail-Chatter .o-mail-Message .overflow-x-auto")]
                    .map((host) => host.shadowRoot?.textContent || "");
                if (!texts.some((text) => text.includes("forty seats"))) {
                    throw new Error(`no message with the text in the chatter: ${JSON.stringify(texts)}`);
                }
            },
        },
    ],
});
