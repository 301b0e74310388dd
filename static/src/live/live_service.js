import { EventBus } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { session } from "@web/session";

/**
 * What the server says over the bus about mailboxes (models/mail_mailbox_live.py),
 * handed on to the views and the top-bar indicator:
 * - "changed" ({ ids }): a sync round, a check or a status change of these mailboxes;
 * - "attention": the user's mailboxes that need attention changed.
 * It also shows, once, the toast the server left for this page (a sign-in that worked).
 */
export const mailboxLiveService = {
    dependencies: ["bus_service", "notification"],
    start(env, { bus_service: busService, notification }) {
        const bus = new EventBus();
        busService.subscribe("mail_connected_mailbox/changed", (payload) => {
            bus.trigger("changed", { ids: payload.ids || [] });
        });
        busService.subscribe("mail_connected_mailbox/attention", (payload) => {
            bus.trigger("attention", { ids: payload.ids || [] });
        });
        busService.start();
        const notice = session.mcm_notice;
        if (notice) {
            delete session.mcm_notice;
            notification.add(notice.message, { title: notice.title, type: notice.type || "success" });
        }
        return { bus };
    },
};

registry.category("services").add("mail_connected_mailbox.live", mailboxLiveService);
