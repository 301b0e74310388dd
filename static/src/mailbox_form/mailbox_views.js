import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { FormController } from "@web/views/form/form_controller";
import { ListController } from "@web/views/list/list_controller";

// Archiving a mailbox disconnects it: the confirmation says so, in both views.
const ARCHIVE_BODY = () =>
    _t(
        "Archiving disconnects the mailbox: Odoo removes its stored password or sign-in, stops syncing and " +
            "checking it, and mail sent through it waits until it is restored and connected again. " +
            "What was synced is kept."
    );

patch(FormController.prototype, {
    get archiveDialogProps() {
        const props = super.archiveDialogProps;
        if (this.props.resModel === "mail.mailbox") {
            return { ...props, title: _t("Archive and disconnect"), body: ARCHIVE_BODY(), confirmLabel: _t("Archive and disconnect") };
        }
        return props;
    },
});

patch(ListController.prototype, {
    get archiveDialogProps() {
        const props = super.archiveDialogProps;
        if (this.props.resModel === "mail.mailbox") {
            return { ...props, title: _t("Archive and disconnect"), body: ARCHIVE_BODY(), confirmLabel: _t("Archive and disconnect") };
        }
        return props;
    },
});
