/**
 * Contacts: add by address (looked up at its relay), and for each one its fingerprint, the
 * safety number to compare out of band, and marking it verified. A changed identity key is
 * never accepted silently: the user sees a loud warning and must choose to accept it.
 */
import { useEffect, useState } from "preact/hooks";
import type { Contact } from "../../protocol/contacts.js";
import { ProtocolError } from "../../protocol/errors.js";
import type { ContactDetail } from "../shared/messages.js";
import { useApi } from "./api.js";
import { ErrorLine, useAction } from "./ui.js";

export function Contacts({ onMessage }: { onMessage: (address: string) => void }) {
  const api = useApi();
  const [list, setList] = useState<Contact[] | null>(null);
  const [address, setAddress] = useState("");
  const [changed, setChanged] = useState<string | null>(null);
  const { busy, problem, setProblem, run } = useAction();

  async function load() {
    const c = await run(() => api.contacts());
    if (c) setList(c);
  }
  useEffect(() => {
    load();
  }, [api]);

  async function add(acceptChangedIdentity: boolean) {
    const who = address.trim();
    setChanged(null);
    try {
      await api.addContact({ address: who, acceptChangedIdentity });
    } catch (e) {
      if (ProtocolError.is(e, "IDENTITY_CHANGED")) setChanged(who);
      else await run(() => Promise.reject(e));
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
          add(false);
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
      {changed && (
        <div class="warning" role="alert">
          <p>
            <strong>Warning: the identity key of {changed} has changed.</strong> This can mean they
            reinstalled, or that someone is impersonating them. Compare the safety number with them
            before you trust it. <code>(IDENTITY_CHANGED)</code>
          </p>
          <button type="button" onClick={() => add(true)}>
            Accept the new key
          </button>
          <button type="button" onClick={() => setChanged(null)}>
            Keep the old key
          </button>
        </div>
      )}
      <ErrorLine problem={problem} />
      {list?.length === 0 && <p class="hint">No contacts yet.</p>}
      <ul class="list" aria-label="Contacts">
        {list?.map((c) => (
          <ContactItem key={c.address} contact={c} onMessage={onMessage} />
        ))}
      </ul>
    </div>
  );
}

function ContactItem({
  contact,
  onMessage,
}: {
  contact: Contact;
  onMessage: (address: string) => void;
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
