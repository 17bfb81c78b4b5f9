/**
 * Test vectors for the account backup (docs/protocol.md §14), written by scripts/vectors.ts
 * with its seeded randomness: `backup.json`. Each vector is a whole backup file to open
 * with `password`; a success names what the restored account must hold.
 */
import { type BackupPayload, openBackup, sealBackup } from "../protocol/backup.js";
import { toHex } from "../protocol/bytes.js";
import { Client } from "../protocol/client.js";
import { MemoryStorage } from "../protocol/storage.js";

type Write = (name: string, description: string, vectors: unknown[]) => void;

export async function backupVectors(write: Write, now: number): Promise<void> {
  const kdf = { m: 1024, t: 2, p: 1 };
  const opts = { kdf, now: () => now };
  const password = "correct horse battery staple";
  const alice = await Client.create(
    new MemoryStorage(),
    { name: "alice", relay: "https://relay.example:8787", password: "alice's own" },
    opts,
  );
  const bob = await Client.create(
    new MemoryStorage(),
    { name: "bob", relay: "https://relay.example:8787", password: "bob's own" },
    opts,
  );
  await alice.addContact(bob.exportBundle());
  await alice.markVerified("bob@relay.example:8787");
  await bob.addContact(alice.exportBundle());
  await bob.decrypt((await alice.encrypt("bob@relay.example:8787", "hello bob")).envelope);
  await alice.decrypt((await bob.encrypt("alice@relay.example:8787", "hello alice")).envelope);
  const full = await alice.exportBackup(password, kdf);

  // Failures decided before the payload is parsed start from a small file whose payload
  // is `{}` (itself BAD_ENCODING once opened), so each vector stays short.
  const small = await sealBackup({} as BackupPayload, password, kdf);
  const lone = await Client.create(
    new MemoryStorage(),
    { name: "carol", password: "carol's own" },
    opts,
  );
  const payload = await openBackup(await lone.exportBackup(password, kdf), password);
  const at = (b: Uint8Array, i: number, f: (x: number) => number) => {
    const c = b.slice();
    c[i] = f(c[i]!);
    return c;
  };
  const flip = (b: Uint8Array, i: number) => at(b, i, (x) => x ^ 0x01);
  const u32 = (b: Uint8Array, i: number, v: number) => {
    const c = b.slice();
    new DataView(c.buffer).setUint32(i, v);
    return c;
  };
  const v = (expect: string, bytes: Uint8Array, comment: string, pw = password) => ({
    expect,
    password: pw,
    backup: toHex(bytes),
    comment,
  });
  write(
    "backup.json",
    "Account backups: open `backup` with `password`; on success the payload holds `account` with `contacts` and `messages`, every session retired on restore.",
    [
      {
        expect: "success",
        password,
        backup: toHex(full),
        account: {
          name: "alice",
          address: "alice@relay.example:8787",
          fingerprint: alice.fingerprint,
        },
        contacts: [{ address: "bob@relay.example:8787", verified: true }],
        messages: [
          { direction: "out", peer: "bob@relay.example:8787", text: "hello bob" },
          { direction: "in", peer: "bob@relay.example:8787", text: "hello alice" },
        ],
        sessions: 1,
      },
      v("wrong password", small, "another password", "correct horse battery stapler"),
      v("wrong password", flip(small, 30), "salt changed"),
      v("wrong password", flip(small, 55), "password check changed"),
      v("wrong password", u32(small, 14, 3), "t changed: another Argon2id output"),
      v("tampered", flip(small, 40), "nonce changed: bound as AAD"),
      v("tampered", flip(small, small.length - 1), "tag changed"),
      v("tampered", flip(small, 71), "ciphertext changed"),
      v("bad encoding", flip(small, 0), "not the magic"),
      v(
        "bad encoding",
        at(small, 9, () => 0x05),
        "type of a keystore record",
      ),
      v(
        "unsupported version",
        at(small, 8, () => 0x02),
        "version 2",
      ),
      v("bad encoding", u32(small, 10, 2 * 1024 * 1024), "m over 1 GiB: refused before Argon2id"),
      v("bad encoding", u32(small, 18, 0), "p = 0"),
      v("bad encoding", small.subarray(0, small.length - 1), "truncated"),
      v("bad encoding", Uint8Array.of(...small, 0), "trailing byte"),
      v("bad encoding", u32(small, 66, small.length), "ciphertext length past the end"),
      v("bad encoding", small, "authenticated payload `{}`: required fields missing"),
      v(
        "bad encoding",
        await sealBackup(
          { ...payload, account: { ...payload.account, name: "mallory" } },
          password,
          kdf,
        ),
        "authenticated payload whose bundle is not the account's",
      ),
    ],
  );
}
