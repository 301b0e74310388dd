import { registry } from "@web/core/registry";

// what a person reads in `element`: escaped tags or entities mean the HTML was escaped twice
function assertRenderedText(element, said) {
    const text = element.textContent;
    if (!text.includes(said)) {
        throw new Error(`Not said: ${said} (read: ${text})`);
    }
    for (const raw of ["<p>", "</p>", "&lt;", "&gt;", "&amp;", "&#39;"]) {
        if (text.includes(raw)) {
            throw new Error(`The message shows ${raw} as text: its HTML was escaped (read: ${text})`);
        }
    }
}

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_alert_inbox", {
    steps: () => [
        {
            content: "The alert is in the inbox, rendered: paragraphs and a link, no tags as text",
            trigger: ".o-mail-Discuss .o-mail-Message:contains('no longer accepts Odoo') .o-mail-Message-body",
            run() {
                const name = document.querySelector(".o-mail-Discuss input.o-mail-Discuss-threadName").value;
                if (name !== "Inbox") {
                    throw new Error(`Discuss opened ${name}, not the Inbox`);
                }
                const message = [...document.querySelectorAll(".o-mail-Discuss .o-mail-Message")].find((m) =>
                    m.textContent.includes("no longer accepts Odoo")
                );
                const body = message.querySelector(".o-mail-Message-body");
                assertRenderedText(body, "no longer accepts Odoo's access to lost-inbox@gmail.test");
                assertRenderedText(body, "Click Reconnect");
                if (body.querySelectorAll("p").length < 3) {
                    throw new Error(`The alert is not rendered as paragraphs: ${body.innerHTML}`);
                }
                const link = [...body.querySelectorAll("a")].find((a) => a.textContent.includes("Open the mailbox"));
                if (!link || !link.getAttribute("href").includes("mail_mailbox_action")) {
                    throw new Error(`No live link to the mailbox in the alert: ${body.innerHTML}`);
                }
            },
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_link_chatter", {
    steps: () => [
        {
            content: "The chatter names who reconnected the mailbox through the link, and who made the link",
            trigger: ".o-mail-Chatter .o-mail-Message:contains('via the link made by')",
            run() {
                const messages = [...document.querySelectorAll(".o-mail-Chatter .o-mail-Message")];
                const line = messages.find((m) => m.textContent.includes("via the link made by"));
                assertRenderedText(line, "Reconnected by Ann Seller via the link made by Ada Admin.");
                const author = line.querySelector(".o-mail-Message-author");
                if (author && !author.textContent.includes("Ann Seller")) {
                    throw new Error(`The line is not posted as the owner: ${author.textContent}`);
                }
                const strangers = messages.filter((m) => m.textContent.includes("Public user"));
                if (strangers.length) {
                    throw new Error(`The chatter names the Public user: ${strangers[0].textContent}`);
                }
            },
        },
    ],
});
