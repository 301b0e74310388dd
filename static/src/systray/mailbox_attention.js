import { Component, onWillStart, useState } from "@odoo/owl";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { useDropdownState } from "@web/core/dropdown/dropdown_hooks";
import { registry } from "@web/core/registry";
import { useBus, useService } from "@web/core/utils/hooks";

/**
 * The top-bar indicator: the user's own mailboxes that need attention (access lost,
 * an error, throttled), with what happened and Reconnect. Shown only while there is
 * one; asked again whenever the server says a status changed (over the bus).
 */
export class MailboxAttention extends Component {
    static components = { Dropdown };
    static props = [];
    static template = "mail_connected_mailbox.MailboxAttention";

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.live = useService("mail_connected_mailbox.live");
        this.dropdown = useDropdownState();
        this.state = useState({ mailboxes: [], loaded: false });
        onWillStart(() => this.load());
        useBus(this.live.bus, "attention", () => this.load());
    }

    async load() {
        this.state.mailboxes = await this.orm.call("mail.mailbox", "get_attention_mailboxes", []);
        this.state.loaded = true;
    }

    async reconnect(mailbox) {
        this.dropdown.close();
        const action = await this.orm.call("mail.mailbox", "action_reconnect", [[mailbox.id]]);
        if (action && typeof action === "object") {
            // a toast's "next" reloads the view behind it; the indicator looks again too
            await this.action.doAction(action);
        }
        await this.load();
    }

    async open(mailbox) {
        this.dropdown.close();
        await this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "mail.mailbox",
            res_id: mailbox.id,
            views: [[false, "form"]],
        });
    }
}

registry
    .category("systray")
    .add("mail_connected_mailbox.attention", { Component: MailboxAttention }, { sequence: 25 });
