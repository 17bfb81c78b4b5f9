/**
 * How the extension's views learn that the keys left memory (Lock, auto-lock): the worker
 * keeps the DEK in `storage.session` under DEK_KEY while unlocked and removes it on lock
 * (background/session.ts), and every extension page can watch that area. A view that
 * shows plaintext or a draft clears it then, so that after a lock a device thief finds
 * nothing readable on screen either (docs/threat-model.md 3.6).
 */
export const DEK_KEY = "dek";

/** Runs `then` each time the keys are removed from `storage.session`; returns what stops it. */
export function onLock(then: () => void): () => void {
  const listener = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
    if (area === "session" && DEK_KEY in changes && changes[DEK_KEY]?.newValue === undefined)
      then();
  };
  chrome.storage.onChanged.addListener(listener);
  return () => chrome.storage.onChanged.removeListener(listener);
}
