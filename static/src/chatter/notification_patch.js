import { Notification } from "@mail/core/common/notification_model";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

/**
 * Mail held for a connected mailbox (or waiting for its sending limits) is not "ready
 * to go": it shows as waiting, with its own icon. The server adds to each email
 * notification the mailbox it went through (mcm_through), or why it waits (mcm_reason)
 * and when it leaves (mcm_leaves).
 */
patch(Notification.prototype, {
    get icon() {
        if (this.mcm_waiting) {
            return "fa fa-clock-o text-warning o-mcm-waiting";
        }
        return super.icon;
    },

    get label() {
        if (this.mcm_waiting) {
            return _t("Waiting");
        }
        return super.label;
    },

    get statusIcon() {
        if (this.mcm_waiting) {
            return "fa fa-clock-o text-warning";
        }
        return super.statusIcon;
    },

    get statusTitle() {
        if (this.mcm_waiting) {
            return _t("Waiting");
        }
        return super.statusTitle;
    },
});
