/**
 * The secure compose frame: text typed here never reaches the page, which only gets the
 * armor (issue 4, "On web pages"). Empty shell for now.
 */
export {};
