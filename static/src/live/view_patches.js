import { patch } from "@web/core/utils/patch";
import { useBus, useService } from "@web/core/utils/hooks";
import { FormController } from "@web/views/form/form_controller";
import { ListController } from "@web/views/list/list_controller";
import { KanbanController } from "@web/views/kanban/kanban_controller";

const MODEL = "mail.mailbox";

/**
 * An open form of a mailbox reloads it when the server says it changed (a sync round,
 * a check, its status), unless the user is editing it; a list or the cards of
 * mailboxes reload when one they show changed.
 */
function useMailboxLive(reload) {
    const live = useService("mail_connected_mailbox.live");
    useBus(live.bus, "changed", (ev) => reload(ev.detail.ids));
}

patch(FormController.prototype, {
    setup() {
        super.setup(...arguments);
        if (this.props.resModel !== MODEL) {
            return;
        }
        useMailboxLive(async (ids) => {
            const root = this.model.root;
            if (!root || root.isNew || !ids.includes(root.resId) || (await root.isDirty())) {
                return;
            }
            await root.load();
        });
    },
});

function reloadRecords(controller) {
    return async (ids) => {
        const root = controller.model.root;
        if (!root || root.editedRecord) {
            return;
        }
        const shown = new Set(root.records ? root.records.map((record) => record.resId) : []);
        // a list grouped, or a record that joins the domain (a status filter): reload anyway
        if (root.isGrouped || ids.some((id) => shown.has(id)) || root.records.length < root.limit) {
            await controller.model.load();
        }
    };
}

patch(ListController.prototype, {
    setup() {
        super.setup(...arguments);
        if (this.props.resModel === MODEL) {
            useMailboxLive(reloadRecords(this));
        }
    },
});

patch(KanbanController.prototype, {
    setup() {
        super.setup(...arguments);
        if (this.props.resModel === MODEL) {
            useMailboxLive(reloadRecords(this));
        }
    },
});
