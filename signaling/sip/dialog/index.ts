export { Dialog, isTargetRefresh } from './dialog.js';
export { DialogTable, DEFAULT_MAX_DIALOGS } from './dialog-table.js';
export type { DialogTableOptions } from './dialog-table.js';
export { dialogKey, dialogKeyForIncoming } from './dialog-key.js';
export { parseDialogJSON, DIALOG_JSON_VERSION, MAX_CSEQ } from './dialog-json.js';
export type { DialogJSON } from './dialog-json.js';
export { computeRequestTarget, isLooseRoute, routeSetFromRecordRoute, routeUri, toRequestUri } from './route-set.js';
export type { RequestTarget } from './route-set.js';
export type {
  DialogCreateOptions, DialogId, DialogRequestOptions, DialogRole, DialogState, ReceiveResult, UasDialogOptions,
} from './types.js';
