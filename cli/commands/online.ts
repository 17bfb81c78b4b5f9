/**
 * The commands that talk to relays (docs/protocol.md §13.6): `register`, `send`, `inbox`
 * and `outbox`. The Client does the protocol; these handlers choose what to fetch, and
 * say what happened: a message either reached its relay, waits in the outbox, or was
 * refused.
 */
import type { Command } from "commander";
import type { Client } from "../../protocol/client.js";
import { ProtocolError } from "../../protocol/errors.js";
import { addressOf, checkRelayUrl } from "../../protocol/identity.js";
import { parseAddress } from "../../protocol/relay-api.js";
import type { ProfileOptions } from "../commands.js";
import { WATCH_HELP } from "../help.js";
import { acceptRelayKeyOption, profileOption } from "../options.js";
import { labelled, note, out, readMessageText, verifiedNote } from "../output.js";
import { ownRelay, withProfile } from "../profile.js";
import { UsageError } from "../usage-error.js";
import { inbox } from "./inbox.js";

export function addOnlineCommands(program: Command): void {
  program
    .command("register")
    .description("publish this profile's bundle at its relay; prints the relay fingerprint")
    .addOption(profileOption())
    .option("--relay <url>", "the profile's relay, to check it (it was set by 'init --relay')")
    .addOption(acceptRelayKeyOption())
    .action(register);

  program
    .command("send")
    .description("encrypt stdin for ADDRESS and deposit it at their relay; queued if unreachable")
    .addOption(profileOption())
    .requiredOption("--to <address>", "name@host[:port], a contact's name, or a name at your relay")
    .addOption(acceptRelayKeyOption())
    .action(send);

  program
    .command("inbox")
    .description("fetch, verify, decrypt and store new messages from your relay, and print them")
    .addOption(profileOption())
    .option("--json", 'one JSON object per message: {"id","from","at","text","verified"}')
    .option("--watch", "keep running and print messages as they arrive (until Ctrl-C)")
    .addOption(acceptRelayKeyOption())
    .addHelpText("after", WATCH_HELP)
    .action(inbox);

  program
    .command("outbox")
    .description("list messages waiting for their relay (to, relay, attempts)")
    .addOption(profileOption())
    .option("--flush", "try to deliver them now")
    .addOption(acceptRelayKeyOption())
    .action(outbox);
}

type OnlineOptions = ProfileOptions & { acceptRelayKey?: boolean };

export async function register(o: OnlineOptions & { relay?: string }): Promise<void> {
  await withProfile(o.profile, async (c) => {
    if (o.relay !== undefined && c.relay === "")
      throw new UsageError(
        "this profile was created without a relay, and the relay URL is part of its signed " +
          "bundle and its address: create the profile with 'init --relay URL' instead",
      );
    const relay = ownRelay(c);
    if (o.relay !== undefined && checkRelayUrl(o.relay) !== relay)
      throw new UsageError(`this profile's relay is ${relay}, not ${o.relay}`);
    const fp = await c.register({ acceptChangedRelayKeys: o.acceptRelayKey === true });
    out(
      labelled([
        ["address", c.address],
        ["relay", relay],
        ["relay fingerprint", fp],
      ]),
    );
    note(`registered ${c.address}: compare the relay fingerprint with its operator's`);
  });
}

/**
 * The contact to send to: a known one, or one fetched from its relay when `to` has a
 * host or the profile has a relay to look a bare name up at.
 */
async function recipient(c: Client, o: OnlineOptions & { to: string }): Promise<string> {
  const acceptChangedRelayKeys = o.acceptRelayKey === true;
  const known = await c.contact(o.to).catch((e: unknown) => {
    if (ProtocolError.is(e, "UNKNOWN_CONTACT")) return undefined;
    throw e;
  });
  if (known) {
    // Client.send cannot accept new relay keys itself: re-pin them with a verified lookup.
    if (acceptChangedRelayKeys && known.relay)
      await c.addContactFromRelay(known.address, { acceptChangedRelayKeys });
    return known.address;
  }
  if (parseAddress(o.to).host === undefined && c.relay === "")
    throw new ProtocolError(
      "UNKNOWN_CONTACT",
      `no contact ${o.to}: add their bundle with 'contacts add', or send to name@host`,
    );
  const k = await c.addContactFromRelay(o.to, { acceptChangedRelayKeys });
  note(`new contact: ${verifiedNote(o.profile, k.address, false)}`);
  return k.address;
}

export async function send(o: OnlineOptions & { to: string }): Promise<void> {
  // stdin first: a person typing the message does not hold up other processes.
  const text = await readMessageText();
  await withProfile(o.profile, async (c) => {
    const to = await recipient(c, o);
    const r = await c.send(to, text, { acceptChangedRelayKeys: o.acceptRelayKey === true });
    out(`${r.id}\n`);
    if (r.delivered) return note(`sent to ${to}`);
    const error = r.error ?? "not delivered";
    if (!(await c.outbox()).some((i) => i.id === r.id))
      throw new ProtocolError("RELAY_REJECTED", `the message to ${to} was refused: ${error}`);
    if (r.errorCode === "RELAY_KEY_CHANGED")
      throw new ProtocolError(
        "RELAY_KEY_CHANGED",
        `${error}. The message stays queued: 'secure-msg contacts add --accept-relay-key ` +
          `${to}' accepts the new keys, then 'secure-msg outbox --flush' delivers it`,
      );
    note(
      r.errorCode === "RELAY_UNAVAILABLE"
        ? `queued (relay unreachable: ${error}): 'secure-msg outbox --flush' retries it`
        : `queued (${error}): 'secure-msg outbox --flush' retries it`,
    );
  });
}

export async function outbox(o: OnlineOptions & { flush?: boolean }): Promise<void> {
  await withProfile(o.profile, async (c) => {
    let refused = 0;
    if (o.flush) {
      const r = await c.flushOutbox({ acceptChangedRelayKeys: o.acceptRelayKey === true });
      for (const e of r.errors) note(`warning: ${e.message} (${e.code})`);
      note(`sent ${r.sent}, still queued ${r.queued}, refused ${r.failed}`);
      refused = r.failed;
    }
    const items = await c.outbox();
    const rows = items.map((i) => [
      addressOf(i.to, i.relay),
      i.relay,
      `${i.attempts} attempt${i.attempts === 1 ? "" : "s"}`,
      i.id,
    ]);
    const width = rows.reduce((w, r) => w.map((n, k) => Math.max(n, r[k]!.length)), [0, 0, 0]);
    for (const r of rows)
      out(
        `${r[0]!.padEnd(width[0]!)}  ${r[1]!.padEnd(width[1]!)}  ${r[2]!.padStart(width[2]!)}  ${r[3]}\n`,
      );
    if (items.length === 0) note("the outbox is empty");
    if (refused > 0)
      throw new ProtocolError("RELAY_REJECTED", `the relay refused ${refused} message(s)`);
  });
}
