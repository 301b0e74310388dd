import { Thread } from "@mail/core/common/thread_model";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

/**
 * Posting while one's mailbox cannot send: the post's return already says the mail
 * waits (its notifications are "waiting"), so the poster is told at once, with why and
 * when it leaves. (Other routes, the full composer for one, are told by the server over
 * the bus.)
 */
patch(Thread.prototype, {
    async post() {
        const message = await super.post(...arguments);
        const waiting = message?.notifications?.find((notification) => notification.mcm_waiting);
        if (waiting) {
            this.store.env.services.notification.add(
                [waiting.mcm_reason, waiting.mcm_leaves, _t("It is kept, not failed: the chatter shows it as waiting.")]
                    .filter(Boolean)
                    .join(" "),
                { title: _t("Your message waits: it is not sent yet"), type: "warning", sticky: true }
            );
        }
        return message;
    },
});
