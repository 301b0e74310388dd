import { registry } from "@web/core/registry";

// Rows of My mail, by subject.
function row(subject) {
    return `.o_list_view .o_data_row:has(td[name=subject]:contains('${subject}'))`;
}

// The same row, in a list that no longer shows ``gone``.
function rowWithout(subject, gone) {
    return (
        `.o_list_view:not(:has(td[name=subject]:contains('${gone}'))) ` +
        `.o_data_row:has(td[name=subject]:contains('${subject}'))`
    );
}

// My mail as a mail client: mail sent from Odoo has its date, sender and subject; unread
// is bold with a marker; the paperclip only where there is an attachment; the star is
// saved (it is still there after a reload); a sent message opens with its body and record.
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_my_mail_client", {
    steps: () => [
        {
            content: "Mail sent from Odoo shows its sender",
            trigger: `${row("Offer from Odoo")} td[name=email_from]:contains('ann@example.com')`,
        },
        {
            content: "... and its date",
            trigger: `${row("Offer from Odoo")} td[name=date]:contains('${new Date().getFullYear()}')`,
        },
        {
            content: "An unread message is bold, with the unread marker",
            trigger: `${row("Unread offer")}.fw-bold button.o_mcm_unread`,
        },
        {
            content: "A read message is neither bold nor marked",
            trigger: `${row("Read note")}:not(.fw-bold):not(:has(.o_mcm_unread))`,
        },
        {
            content: "The paperclip shows where there is an attachment",
            trigger: `${row("With attachment")} .o_mcm_attachment`,
        },
        {
            content: "... and nowhere else",
            trigger: `${row("Read note")}:not(:has(.o_mcm_attachment))`,
        },
        {
            content: "Star the read note",
            trigger: `${row("Read note")} button.o_mcm_star`,
            run: "click",
        },
        {
            content: "It is starred",
            trigger: `${row("Read note")} button.o_mcm_starred`,
            run() {
                document.body.classList.add("o_mcm_before_reload");
                window.location.reload();
            },
        },
        {
            content: "After a reload, it is still starred",
            trigger: `body:not(.o_mcm_before_reload) ${row("Read note")} button.o_mcm_starred`,
        },
        {
            content: "Open the mail sent from Odoo",
            trigger: `${row("Offer from Odoo")} td[name=subject]`,
            run: "click",
        },
        {
            content: "It is named by its subject, not Unnamed",
            trigger: ".o_breadcrumb .active:contains('Offer from Odoo')",
        },
        {
            content: "Its body is there",
            trigger: ".o_form_view .o_field_widget[name=body]:contains('Our offer, in full')",
        },
        {
            content: "... and the record it was sent from",
            trigger: ".o_form_view .o_field_widget[name=logged_on]:contains('Customer')",
        },
    ],
});

// Delete from the form, then from the list: a confirmation that says what happens to
// the mailbox's copy, and the message is gone (no "cannot be found").
registry.category("web_tour.tours").add("mail_connected_mailbox_tour_my_mail_delete", {
    steps: () => [
        {
            content: "Open the unread offer",
            trigger: `${row("Unread offer")} td[name=subject]`,
            run: "click",
        },
        {
            content: "Opening it marked it read",
            trigger: ".o_form_view .o_field_widget[name=seen] input:checked",
        },
        {
            content: "Delete it",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_delete]",
            run: "click",
        },
        {
            content: "The confirmation says the mailbox's copy goes to its Trash",
            trigger: ".modal .modal-body:contains('also deleted in the mailbox: moved to its Trash')",
        },
        {
            content: "Confirm",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "Back in My mail, without it and without an error",
            trigger:
                "body:not(:has(.modal)):not(:has(.o_notification:contains('cannot be found'))) " +
                rowWithout("Read note", "Unread offer"),
        },
        {
            content: "Select the message with an attachment",
            trigger: `${row("With attachment")} .o_list_record_selector input`,
            run: "click",
        },
        {
            content: "The selection can be restored to the Inbox, in those words",
            trigger: "button[name=action_unarchive]:contains('Restore to the Inbox')",
        },
        {
            content: "Open the Actions",
            trigger: ".o_cp_action_menus .dropdown-toggle",
            run: "click",
        },
        {
            content: "Delete (and no Odoo Unarchive among the Actions)",
            trigger: ".o-dropdown--menu:not(:has(.dropdown-item:contains('Unarchive'))) .dropdown-item:contains('Delete')",
            run: "click",
        },
        {
            content: "The confirmation counts it",
            trigger: ".modal .o_field_widget[name=summary]:contains('Delete 1 messages from Odoo?')",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name=action_delete]",
            run: "click",
        },
        {
            content: "It is gone from the list",
            trigger:
                "body:not(:has(.modal)) " + rowWithout("Read note", "With attachment"),
        },
        {
            content: "Open the search options",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Group by folder",
            trigger: ".o_group_by_menu .o_menu_item:contains('Folder')",
            run: "click",
        },
        {
            content: "The messages are grouped by their folder",
            trigger: ".o_list_view .o_group_header:contains('Sync-')",
        },
    ],
});
