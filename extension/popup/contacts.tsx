/**
 * Contacts: add by address (looked up at its relay), and for each one its fingerprint, the
 * safety number to compare out of band, and marking it verified. A changed identity key is
 * never accepted silently: the user sees a loud warning and must choose to accept it.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ProtocolError } from "../../protocol/errors.js";
import type { ContactDetail, ContactSummary } from "../shared/messages.js";
import { useApi } from "./api.js";
import { askAddressAccess, NO_ACCESS } from "./relay-access.js";
import { ErrorLine, useAction } from "./ui.js";

export function Contacts({
  onMessage,
  review,
}: {
  onMessage: (address: string) => void;
  /** A contact whose changed key the user came to review: its warning gets the focus. */
  review?: string;
}) {
  const api = useApi();
  const [list, setList] = useState<ContactSummary[] | null>(null);
  const [address, setAddress] = useState("");
  const [changed, setChanged] = useState<string | null>(review ?? null);
  const { busy, problem, setProblem, run } = useAction();

  async function load() {
    const c = await run(() => api.contacts());
    if (c) setList(c);
  }
  useEffect(() => {
    load();
  }, [api]);

  async function add() {
    const who = address.trim();
    setChanged(null);
    // In the user's click, before any await (relay-access.ts).
    if (!(await askAddressAccess(who))) {
      setProblem(NO_ACCESS);
      return;
    }
    try {
      await api.addContact({ address: who, acceptChangedIdentity: false });
    } catch (e) {
      // The worker now holds sends to this contact until the review below is done.
      if (ProtocolError.is(e, "IDENTITY_CHANGED")) setChanged(who);
      else await run(() => Promise.reject(e));
      await load();
      return;
    }
    setAddress("");
    setProblem(null);
    await load();
  }

  return (
    <div class="screen">
      <h2>Contacts</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          add();
        }}
      >
        <label class="grow">
          Address
          <input
            required
            value={address}
            placeholder="name@relay"
            onInput={(e) => setAddress(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Add contact
        </button>
      </form>
      <ErrorLine problem={problem} />
      {list?.length === 0 && <p class="hint">No contacts yet.</p>}
      <ul class="list" aria-label="Contacts">
        {list?.map((c) => (
          <ContactItem
            key={c.address}
            contact={c}
            onMessage={onMessage}
            onReviewed={load}
            focus={changed !== null && (c.address === changed || c.name === changed)}
          />
        ))}
      </ul>
    </div>
  );
}

function ContactItem({
  contact,
  onMessage,
  onReviewed,
  focus,
}: {
  contact: ContactSummary;
  onMessage: (address: string) => void;
  onReviewed: () => void;
  focus: boolean;
}) {
  const api = useApi();
  const [detail, setDetail] = useState<ContactDetail | null>(null);
  const { busy, problem, run } = useAction();

  useEffect(() => {
    run(() => api.contact({ address: contact.address })).then((d) => d && setDetail(d));
  }, [api, contact.address]);

  async function verify() {
    const d = await run(() => api.verifyContact({ address: contact.address, verified: true }));
    if (d) setDetail(d);
  }

  const c = detail ?? contact;
  return (
    <li class="contact">
      {contact.keyChanged && (
        <KeyChangedWarning address={contact.address} focus={focus} onReviewed={onReviewed} />
      )}
      <p class="row">
        <strong class="peer">{c.name || c.address}</strong>
        {c.verified ? <span class="verified">Verified</span> : <span class="hint">Unverified</span>}
      </p>
      <p class="hint">{c.address}</p>
      <dl>
        <dt>Fingerprint</dt>
        <dd>
          <code>{c.fingerprint}</code>
        </dd>
        <dt>Safety number</dt>
        <dd>
          <code>{detail ? detail.safetyNumber : "…"}</code>
        </dd>
      </dl>
      <ErrorLine problem={problem} />
      <p class="row">
        {!c.verified && (
          <button type="button" onClick={verify} disabled={busy}>
            Mark verified
          </button>
        )}
        <button type="button" onClick={() => onMessage(c.address)}>
          Message
        </button>
      </p>
    </li>
  );
}

/**
 * A contact whose identity key changed (IDENTITY_CHANGED): sending waits until the user
 * accepts the new key (the contact becomes unverified) or keeps the old one.
 */
function KeyChangedWarning({
  address,
  focus,
  onReviewed,
}: {
  address: string;
  focus: boolean;
  onReviewed: () => void;
}) {
  const api = useApi();
  const box = useRef<HTMLDivElement>(null);
  const { busy, problem, run } = useAction();

  useEffect(() => {
    if (focus) box.current?.focus();
  }, [focus]);

  async function decide(accept: boolean) {
    const done = await run(async () => {
      if (accept) await api.addContact({ address, acceptChangedIdentity: true });
      else await api.keepContactKey({ address });
      return true;
    });
    if (done) onReviewed();
  }

  return (
    <div class="warning" role="alert" tabIndex={-1} ref={box}>
      <p>
        <strong>Warning: the identity key of {address} has changed.</strong> This can mean they
        reinstalled, or that someone is impersonating them. Compare the safety number with them
        before you trust it. Sending to them waits until you choose. <code>(IDENTITY_CHANGED)</code>
      </p>
      <ErrorLine problem={problem} />
      <p class="row">
        <button type="button" onClick={() => decide(true)} disabled={busy}>
          Accept the new key
        </button>
        <button type="button" onClick={() => decide(false)} disabled={busy}>
          Keep the old key
        </button>
      </p>
    </div>
  );
}
