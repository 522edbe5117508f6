/** The edge's local copy of media branches and its persistent uploader to the central media service. */
export { LocalMediaStore, type LocalMediaStoreOptions, type OpenLocalBranchRequest, type UploadTarget } from './local-store.js';
export { BranchUploader, type UploaderOptions, type UploadOutcome, type UploadRequest } from './uploader.js';
export { loadManifest, saveManifest, type UploadEntry, type UploadState } from './manifest.js';
