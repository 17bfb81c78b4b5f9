/**
 * Signal's libsignal (native, through @signalapp/libsignal-client) with in-memory stores
 * that keep serialized records, as libsignal's own tests and a real client do: PQXDH with
 * a signed prekey and a signed Kyber (ML-KEM-1024) prekey, then the session ratchet.
 */
import * as S from "@signalapp/libsignal-client";

class SessionStore extends S.SessionStore {
  readonly records = new Map<string, Uint8Array<ArrayBuffer>>();
  async saveSession(a: S.ProtocolAddress, r: S.SessionRecord): Promise<void> {
    this.records.set(a.toString(), r.serialize());
  }
  async getSession(a: S.ProtocolAddress): Promise<S.SessionRecord | null> {
    const b = this.records.get(a.toString());
    return b ? S.SessionRecord.deserialize(b) : null;
  }
  async getExistingSessions(as: S.ProtocolAddress[]): Promise<S.SessionRecord[]> {
    const out: S.SessionRecord[] = [];
    for (const a of as) {
      const r = await this.getSession(a);
      if (r) out.push(r);
    }
    return out;
  }
}

class IdentityStore extends S.IdentityKeyStore {
  readonly known = new Map<string, Uint8Array<ArrayBuffer>>();
  constructor(
    readonly pair: S.IdentityKeyPair,
    readonly registrationId: number,
  ) {
    super();
  }
  async getIdentityKey(): Promise<S.PrivateKey> {
    return this.pair.privateKey;
  }
  async getLocalRegistrationId(): Promise<number> {
    return this.registrationId;
  }
  async saveIdentity(a: S.ProtocolAddress, key: S.PublicKey): Promise<S.IdentityChange> {
    this.known.set(a.toString(), key.serialize());
    return S.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(): Promise<boolean> {
    return true; // trust on first use, like our unverified contacts
  }
  async getIdentity(a: S.ProtocolAddress): Promise<S.PublicKey | null> {
    const b = this.known.get(a.toString());
    return b ? S.PublicKey.deserialize(b) : null;
  }
}

/** Bob's published keys: a signed prekey and a signed last-resort Kyber prekey (no one-time prekey). */
class PrekeyStores {
  readonly signed: S.SignedPreKeyRecord;
  readonly kyber: S.KyberPreKeyRecord;
  readonly prekeys = new (class extends S.PreKeyStore {
    async savePreKey(): Promise<void> {}
    async getPreKey(): Promise<S.PreKeyRecord> {
      throw new Error("no one-time prekeys in this benchmark");
    }
    async removePreKey(): Promise<void> {}
  })();
  readonly signedStore: S.SignedPreKeyStore;
  readonly kyberStore: S.KyberPreKeyStore;

  constructor(identity: S.IdentityKeyPair) {
    const spk = S.PrivateKey.generate();
    const spkSig = identity.privateKey.sign(spk.getPublicKey().serialize());
    this.signed = S.SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, spkSig);
    const kyber = S.KEMKeyPair.generate();
    const kyberSig = identity.privateKey.sign(kyber.getPublicKey().serialize());
    this.kyber = S.KyberPreKeyRecord.new(1, Date.now(), kyber, kyberSig);
    const signed = this.signed;
    const kyberRecord = this.kyber;
    this.signedStore = new (class extends S.SignedPreKeyStore {
      async saveSignedPreKey(): Promise<void> {}
      async getSignedPreKey(): Promise<S.SignedPreKeyRecord> {
        return signed;
      }
    })();
    this.kyberStore = new (class extends S.KyberPreKeyStore {
      async saveKyberPreKey(): Promise<void> {}
      async getKyberPreKey(): Promise<S.KyberPreKeyRecord> {
        return kyberRecord;
      }
      async markKyberPreKeyUsed(): Promise<void> {}
    })();
  }

  bundle(identity: S.IdentityKeyPair, registrationId: number): S.PreKeyBundle {
    return S.PreKeyBundle.new(
      registrationId,
      1,
      null,
      null,
      this.signed.id(),
      this.signed.publicKey(),
      this.signed.signature(),
      identity.publicKey,
      this.kyber.id(),
      this.kyber.publicKey(),
      this.kyber.signature(),
    );
  }
}

export interface SignalParty {
  address: S.ProtocolAddress;
  sessions: SessionStore;
  identity: IdentityStore;
  prekeys: PrekeyStores;
}

let nextRegistration = 1;

export function signalParty(name: string): SignalParty {
  const pair = S.IdentityKeyPair.generate();
  return {
    address: S.ProtocolAddress.new(name, 1),
    sessions: new SessionStore(),
    identity: new IdentityStore(pair, nextRegistration++),
    prekeys: new PrekeyStores(pair),
  };
}

/** The sender forgets its session with `to`, so the next message starts a new one. */
export function forget(from: SignalParty, to: SignalParty): void {
  from.sessions.records.delete(to.address.toString());
}

/** PQXDH: `from` processes `to`'s bundle (verifying its signatures) and starts a session. */
export function startSession(from: SignalParty, to: SignalParty): Promise<void> {
  const bundle = to.prekeys.bundle(to.identity.pair, to.identity.registrationId);
  return S.processPreKeyBundle(bundle, to.address, from.address, from.sessions, from.identity);
}

export async function signalSeal(
  from: SignalParty,
  to: SignalParty,
  text: Uint8Array<ArrayBuffer>,
): Promise<{ type: number; bytes: Uint8Array<ArrayBuffer> }> {
  const c = await S.signalEncrypt(text, to.address, from.address, from.sessions, from.identity);
  return { type: c.type(), bytes: c.serialize() };
}

export function signalOpen(
  to: SignalParty,
  from: SignalParty,
  m: { type: number; bytes: Uint8Array<ArrayBuffer> },
): Promise<Uint8Array> {
  if (m.type === S.CiphertextMessageType.PreKey) {
    return S.signalDecryptPreKey(
      S.PreKeySignalMessage.deserialize(m.bytes),
      from.address,
      to.address,
      to.sessions,
      to.identity,
      to.prekeys.prekeys,
      to.prekeys.signedStore,
      to.prekeys.kyberStore,
    );
  }
  return S.signalDecrypt(
    S.SignalMessage.deserialize(m.bytes),
    from.address,
    to.address,
    to.sessions,
    to.identity,
  );
}

export const LIBSIGNAL_VERSION = "0.103";
