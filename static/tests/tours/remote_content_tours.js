import { registry } from "@web/core/registry";

function trackerHost() {
    const found = document.cookie.split("; ").find((part) => part.startsWith("mcm_tracker="));
    return found ? decodeURIComponent(found.split("=")[1]) : "";
}

// `root` and every element below it, inside shadow roots too (the chatter shows an
// email's body in one)
function allElements(root) {
    const found = [root];
    const walk = (node) => {
        if (node.shadowRoot) {
            walk(node.shadowRoot);
        }
        for (const element of node.querySelectorAll("*")) {
            found.push(element);
            if (element.shadowRoot) {
                walk(element.shadowRoot);
            }
        }
    };
    walk(root);
    return found;
}

function textOf(root) {
    return allElements(root)
        .map((element) => (element.shadowRoot ? element.shadowRoot.textContent : ""))
        .join(" ") + root.textContent;
}

// what the browser would load from the tracker under `root`: an attribute (links aside),
// a background, or a load it already made
function remoteIn(root) {
    const host = trackerHost();
    if (!host) {
        throw new Error("The test did not say where the tracker is.");
    }
    const found = [];
    for (const element of allElements(root)) {
        for (const attribute of element.attributes) {
            const link = attribute.name === "href" && ["a", "area"].includes(element.localName);
            if (!link && attribute.value.includes(host)) {
                found.push(`${element.localName}@${attribute.name}`);
            }
        }
        if (getComputedStyle(element).backgroundImage.includes(host)) {
            found.push(`${element.localName} background`);
        }
    }
    for (const entry of performance.getEntriesByType("resource")) {
        if (entry.name.includes(host)) {
            found.push(`loaded ${entry.name}`);
        }
    }
    return found;
}

function assertNothingRemote(selector, said = "") {
    const root = document.querySelector(selector);
    if (said && !textOf(root).includes(said)) {
        throw new Error(`Not said: ${said}`);
    }
    const found = remoteIn(root);
    if (found.length) {
        throw new Error(`Remote content reached the browser: ${found.join(", ")}`);
    }
}

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_remote_content", {
    steps: () => [
        {
            content: "The message shows, with nothing from the tracker",
            trigger: ".o_form_view .o_field_widget[name=body]:contains('Dear customer')",
            run: () => assertNothingRemote(".o_form_view .o_field_widget[name=body]"),
        },
        {
            content: "Show images",
            trigger: ".o_form_view .alert:contains('held back') button[name=action_show_images]",
            run: "click",
        },
        {
            content: "The images load",
            trigger: ".o_form_view .o_field_widget[name=body] img[src*='img.gif']",
            async run() {
                const image = document.querySelector(".o_form_view .o_field_widget[name=body] img[src*='img.gif']");
                if (!image.complete) {
                    await new Promise((resolve) => {
                        image.addEventListener("load", resolve);
                        image.addEventListener("error", resolve);
                    });
                }
                if (!image.naturalWidth) {
                    throw new Error("The image did not load after Show images.");
                }
            },
        },
    ],
});

registry.category("web_tour.tours").add("mail_connected_mailbox_tour_remote_content_copy", {
    steps: () => [
        {
            content: "The copy in the contact's chatter says what it held back, and loads none of it",
            trigger: ".o-mail-Message:contains('Tracked offer')",
            run: () => assertNothingRemote(".o-mail-Message", "were held back in this copy"),
        },
    ],
});
