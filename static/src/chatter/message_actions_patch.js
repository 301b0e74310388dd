import { toRaw } from "@odoo/owl";
import { messageActionsRegistry } from "@mail/core/common/message_actions";
import { Message } from "@mail/core/common/message_model";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

/**
 * Reply, Reply all and Forward on the copy of a synced message in a chatter (or the
 * Inbox): the same composer as in My mail, writing through the mailbox and threaded
 * under the original, on the record of the chatter. The server says which copies the
 * reader may answer so (mcm_can_reply); for those, Discuss's own reply, a message in
 * Odoo, is not offered.
 */
patch(Message.prototype, {
    canReplyTo(thread) {
        if (this.mcm_can_reply) {
            return false;
        }
        return super.canReplyTo(thread);
    },
});

async function openMailboxComposer(component, mode) {
    const message = toRaw(component.props.message);
    const thread = toRaw(component.props.thread);
    const { orm, action } = component.env.services;
    const composer = await orm.call("mail.message", "action_mcm_reply", [[message.id], mode]);
    await action.doAction(composer, {
        onClose: () => {
            // the reply is logged on the record: show it in its chatter
            if (thread && thread.model !== "mail.box") {
                thread.fetchNewMessages();
            }
        },
    });
}

function canAnswer(component) {
    return Boolean(
        component.props.message.mcm_can_reply && component.props.thread?.model !== "discuss.channel"
    );
}

messageActionsRegistry
    .add("mcm-reply", {
        condition: canAnswer,
        icon: "fa fa-reply",
        title: _t("Reply"),
        onClick: (component) => openMailboxComposer(component, "reply"),
        sequence: 12,
    })
    .add("mcm-reply-all", {
        condition: canAnswer,
        icon: "fa fa-reply-all",
        title: _t("Reply all"),
        onClick: (component) => openMailboxComposer(component, "reply_all"),
        sequence: 13,
    })
    .add("mcm-forward", {
        condition: canAnswer,
        icon: "fa fa-share",
        title: _t("Forward"),
        onClick: (component) => openMailboxComposer(component, "forward"),
        sequence: 14,
    });
