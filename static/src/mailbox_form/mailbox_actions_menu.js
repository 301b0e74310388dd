import { _t } from "@web/core/l10n/translation";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { registry } from "@web/core/registry";
import { standardWidgetProps } from "@web/views/widgets/standard_widget_props";
import { Component } from "@odoo/owl";

const TROUBLE = ["auth_lost", "error", "throttled"];

/**
 * The mailbox form's "More" menu, in its header: the actions that fit the mailbox's
 * status beside the few buttons shown (one primary), each one name, run as the
 * header's own buttons run (saved first; a confirmation when it has one).
 */
export class MailboxActionsMenu extends Component {
    static template = "mail_connected_mailbox.MailboxActionsMenu";
    static components = { Dropdown, DropdownItem };
    static props = { ...standardWidgetProps };

    get items() {
        const { state, active } = this.props.record.data;
        if (!active || state === "draft") {
            return [];
        }
        const items = [];
        if (state === "connected") {
            items.push({
                name: "action_reconnect",
                label: _t("Reconnect (sign in again)"),
                icon: "fa-plug",
            });
        }
        if (state === "connected" || TROUBLE.includes(state)) {
            items.push({
                name: "action_get_reconnect_link",
                label: _t("Get shareable link"),
                icon: "fa-link",
            });
            items.push({
                name: "action_disable",
                label: _t("Disable sync"),
                icon: "fa-pause",
                confirm: _t(
                    "Disable this mailbox? While it is disabled, Odoo neither syncs nor checks it, and mail " +
                        "sent through it is held (not failed) until you enable it again. Nothing is deleted."
                ),
            });
        }
        items.push({ name: "action_disconnect", label: _t("Disconnect"), icon: "fa-chain-broken" });
        return items;
    }

    run(item) {
        const record = this.props.record;
        const clickParams = { type: "object", name: item.name };
        if (item.confirm) {
            clickParams.confirm = item.confirm;
            clickParams["confirm-label"] = item.label;
        }
        this.env.onClickViewButton({
            clickParams,
            getResParams: () => ({
                context: record.context,
                evalContext: record.evalContext,
                resModel: record.resModel,
                resId: record.resId,
                resIds: [record.resId],
            }),
        });
    }
}

registry.category("view_widgets").add("mcm_mailbox_actions_menu", { component: MailboxActionsMenu });
