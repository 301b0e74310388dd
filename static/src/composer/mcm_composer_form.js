import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formView } from "@web/views/form/form_view";
import { toRaw } from "@odoo/owl";
import {
    MailComposerFormController,
    MailComposerFormRenderer,
} from "@mail/chatter/web/mail_composer_form";

// The composer writing as a connected mailbox: closed unsent (its X, Escape) with
// something written, it is kept as a draft, as mail clients do; "Keep as draft" does
// the same on purpose. A draft need not be complete (no To, no subject yet): it is
// written as it is, without the checks Send makes.
export class McmComposerFormController extends MailComposerFormController {
    setup() {
        super.setup();
        this.mcmOrm = useService("orm");
        this.mcmAction = useService("action");
        toRaw(this.env.dialogData).dismiss = () => this.mcmKeepDraft({ dismissing: true });
    }

    async beforeExecuteActionButton(clickParams) {
        if (clickParams.name === "action_mcm_keep_draft") {
            await this.mcmKeepDraft({ dismissing: false });
            return false;
        }
        return super.beforeExecuteActionButton(...arguments);
    }

    async mcmKeepDraft({ dismissing }) {
        const root = this.model.root;
        const dirty = await root.isDirty();
        if (dismissing && !dirty) {
            return;
        }
        const context = { ...root.context, mcm_dismissing: dismissing };
        const changes = root._getChanges();
        let id = root.resId;
        if (!id) {
            [id] = await this.mcmOrm.create(root.resModel, [changes], { context });
        } else if (Object.keys(changes).length) {
            await this.mcmOrm.write(root.resModel, [id], changes, { context });
        }
        const action = await this.mcmOrm.call(root.resModel, "action_mcm_keep_draft", [[id]], {
            context,
        });
        if (action) {
            await this.mcmAction.doAction(action);
        }
    }
}

registry.category("views").add("mcm_composer_form", {
    ...formView,
    Controller: McmComposerFormController,
    Renderer: MailComposerFormRenderer,
});
