/**
 * The decrypt frame: shows a message's plaintext from the extension's origin, inside the
 * page, so the page's scripts cannot read it (issue 4, "On web pages"). Empty shell for now.
 */
export {};
