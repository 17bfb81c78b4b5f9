/**
 * Content script, on the watched pages only (manifest.config.ts): it will find armored
 * blocks and place the Decrypt control. It never receives plaintext or keys; those stay in
 * the worker and the extension's own frames. A no-op for now.
 */
export {};
