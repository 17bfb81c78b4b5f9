// @vitest-environment happy-dom
/**
 * The popup's backup screens (Export backup, Import backup on onboarding and in settings),
 * the compose block for a contact whose key changed, and accepting a relay's new key.
 */
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { h, type VNode } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiContext } from "../../../extension/popup/api.js";
import { App } from "../../../extension/popup/app.js";
import { ExportBackup, ImportBackup } from "../../../extension/popup/backup.js";
import { base64 } from "../../../protocol/bytes.js";
import { ProtocolError } from "../../../protocol/errors.js";
import { ALICE, fakeApi } from "./fake-api.js";

afterEach(cleanup);

const BOB = {
  address: "bob@127.0.0.1",
  name: "bob",
  relay: "http://127.0.0.1:8080",
  fingerprint: "BBBB 1111",
  verified: true,
  canStartSession: true,
  keyChanged: false,
};
const FILE_BYTES = new Uint8Array([83, 77, 83, 71, 66, 75, 80, 10, 1, 6, 0, 255]);
const input = (label: string, value: string) =>
  fireEvent.input(screen.getByLabelText(label), { target: { value } });

function withApi(api: ReturnType<typeof fakeApi>, child: VNode) {
  render(h(ApiContext.Provider, { value: api }, child));
}

describe("Export backup", () => {
  it("asks for the account password and a confirmed backup password, then downloads", async () => {
    const api = fakeApi({
      exportBackup: async () => ({
        data: base64.encode(FILE_BYTES),
        filename: "secure-msg-alice.backup",
        bytes: FILE_BYTES.length,
      }),
    });
    const download = vi.fn();
    withApi(api, h(ExportBackup, { download }) as VNode);
    input("Account password", "my account password");
    input("Backup password", "short");
    input("Confirm backup password", "short");
    fireEvent.click(screen.getByRole("button", { name: "Export backup" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/at least 10 characters/);
    input("Backup password", "a long backup password");
    input("Confirm backup password", "a long backup passwort");
    fireEvent.click(screen.getByRole("button", { name: "Export backup" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/do not match/);
    expect(api.exportBackup).not.toHaveBeenCalled();

    input("Confirm backup password", "a long backup password");
    fireEvent.click(screen.getByRole("button", { name: "Export backup" }));
    await waitFor(() => expect(download).toHaveBeenCalled());
    expect(api.exportBackup).toHaveBeenCalledWith({
      password: "my account password",
      backupPassword: "a long backup password",
    });
    expect(download.mock.calls[0]![0]).toBe("secure-msg-alice.backup");
    expect([...download.mock.calls[0]![1]]).toEqual([...FILE_BYTES]);
    expect((await screen.findByRole("status")).textContent).toMatch(/secure-msg-alice.backup/);
    // Nothing secret stays in the form.
    expect((screen.getByLabelText("Backup password") as HTMLInputElement).value).toBe("");
  });

  it("shows a wrong account password as such", async () => {
    const api = fakeApi({
      exportBackup: async () => {
        throw new ProtocolError("WRONG_PASSWORD", "wrong password");
      },
    });
    withApi(api, h(ExportBackup, { download: vi.fn() }) as VNode);
    input("Account password", "not it at all");
    input("Backup password", "a long backup password");
    input("Confirm backup password", "a long backup password");
    fireEvent.click(screen.getByRole("button", { name: "Export backup" }));
    expect((await screen.findByRole("alert")).textContent).toMatch(/WRONG_PASSWORD/);
  });
});

describe("Import backup", () => {
  it("is the alternative to creating an account, and opens the inbox", async () => {
    const api = fakeApi({
      importBackup: async () => ({ ...ALICE, contacts: 2, messages: 5, sessions: 2 }),
    });
    render(h(App, { api }));
    fireEvent.click(await screen.findByRole("button", { name: "Import backup" }));
    expect(screen.queryByRole("button", { name: "Create account" })).toBeNull();
    const file = new File([FILE_BYTES], "alice.backup");
    fireEvent.change(screen.getByLabelText("Backup file"), { target: { files: [file] } });
    input("Password of the backup", "a long backup password");
    // happy-dom does not count a file set by the test as chosen for `required`: submit.
    fireEvent.submit(screen.getByRole("button", { name: "Import backup" }).closest("form")!);
    await waitFor(() => expect(api.importBackup).toHaveBeenCalled());
    expect(api.importBackup).toHaveBeenCalledWith({
      data: base64.encode(FILE_BYTES),
      password: "a long backup password",
    });
    expect(await screen.findByRole("button", { name: "Inbox" })).toBeTruthy();
    // And back: the create form is one click away.
    cleanup();
    render(h(App, { api: fakeApi() }));
    fireEvent.click(await screen.findByRole("button", { name: "Import backup" }));
    fireEvent.click(screen.getByRole("button", { name: "Create a new account instead" }));
    expect(screen.getByRole("button", { name: "Create account" })).toBeTruthy();
  });

  it("in settings, replaces the account only with its password and a confirmation", async () => {
    const api = fakeApi({
      importBackup: async () => ({
        ...ALICE,
        name: "carol",
        contacts: 0,
        messages: 0,
        sessions: 0,
      }),
    });
    const onDone = vi.fn();
    withApi(api, h(ImportBackup, { replace: true, onDone }) as VNode);
    const file = new File([FILE_BYTES], "carol.backup");
    fireEvent.change(screen.getByLabelText("Backup file"), { target: { files: [file] } });
    input("Password of the backup", "a long backup password");
    input("Password of this account", "my account password");
    const confirm = screen.getByLabelText(/Delete this account's keys/) as HTMLInputElement;
    expect(confirm.required).toBe(true);
    fireEvent.change(confirm, { target: { checked: true } });
    fireEvent.submit(screen.getByRole("button", { name: "Import backup" }).closest("form")!);
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(api.importBackup).toHaveBeenCalledWith({
      data: base64.encode(FILE_BYTES),
      password: "a long backup password",
      currentPassword: "my account password",
    });
    expect(onDone.mock.calls[0]![0]).toMatchObject({ name: "carol", status: "unlocked" });
  });
});

describe("changed keys in the popup", () => {
  it("blocks compose to a contact whose key changed, and links to the review", async () => {
    const contacts = [{ ...BOB, keyChanged: true, verified: false }];
    const api = fakeApi({
      state: async () => ALICE,
      contacts: async () => contacts.map((c) => ({ ...c })),
      contact: async () => ({ ...BOB, safetyNumber: "12345 67890" }),
      keepContactKey: async () => {
        contacts[0]!.keyChanged = false;
        return null;
      },
    });
    render(h(App, { api }));
    fireEvent.click(await screen.findByRole("button", { name: "New message" }));
    input("To", "bob");
    input("Message", "hello");
    expect((await screen.findByRole("alert")).textContent).toMatch(
      /Sending to bob@127.0.0.1 is blocked: their identity key has changed/,
    );
    const send = screen.getByRole("button", { name: "Send" }) as HTMLButtonElement;
    expect(send.disabled).toBe(true);
    fireEvent.click(screen.getByRole("button", { name: "Review bob@127.0.0.1 in Contacts" }));
    expect(await screen.findByRole("heading", { name: "Contacts" })).toBeTruthy();
    const warning = await screen.findByText(/the identity key of bob@127.0.0.1 has changed/);
    // The keyboard focus lands on the warning the user came to read.
    await waitFor(() => expect(document.activeElement?.contains(warning)).toBe(true));
    fireEvent.click(screen.getByRole("button", { name: "Keep the old key" }));
    await waitFor(() => expect(api.keepContactKey).toHaveBeenCalledWith({ address: BOB.address }));
    await waitFor(() => expect(screen.queryByText(/has changed/)).toBeNull());
  });

  it("accepting the new key goes through the worker with acceptChangedIdentity", async () => {
    const api = fakeApi({
      state: async () => ALICE,
      contacts: async () => [{ ...BOB, keyChanged: true }],
      contact: async () => ({ ...BOB, safetyNumber: "12345 67890" }),
      addContact: async () => BOB,
    });
    render(h(App, { api }));
    fireEvent.click(await screen.findByRole("button", { name: "Contacts" }));
    fireEvent.click(await screen.findByRole("button", { name: "Accept the new key" }));
    await waitFor(() =>
      expect(api.addContact).toHaveBeenCalledWith({
        address: BOB.address,
        acceptChangedIdentity: true,
      }),
    );
  });

  it("shows a relay's new fingerprint and accepts exactly it on an explicit click", async () => {
    const url = "http://127.0.0.1:8787";
    const api = fakeApi({
      state: async () => ALICE,
      fetch: async () => {
        throw new ProtocolError(
          "RELAY_KEY_CHANGED",
          `the relay at ${url} has new keys: it may be an impostor; accept only after checking its fingerprint`,
        );
      },
      relayKey: async () => ({ url, fingerprint: "1111 2222 3333", pinned: "AAAA BBBB CCCC" }),
      acceptRelayKey: async () => ({ url, fingerprint: "1111 2222 3333" }),
    });
    render(h(App, { api }));
    fireEvent.click(await screen.findByRole("button", { name: "Check now" }));
    expect(await screen.findByText("1111 2222 3333")).toBeTruthy();
    expect(screen.getByText("AAAA BBBB CCCC")).toBeTruthy();
    expect(api.acceptRelayKey).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Accept the new relay key" }));
    await waitFor(() =>
      expect(api.acceptRelayKey).toHaveBeenCalledWith({ url, fingerprint: "1111 2222 3333" }),
    );
    expect((await screen.findByRole("status")).textContent).toMatch(/accepted/);
  });
});

describe("keyboard", () => {
  it("puts the focus on the password when the popup opens locked", async () => {
    render(h(App, { api: fakeApi({ state: async () => ({ status: "locked" }) }) }));
    const field = await screen.findByLabelText("Password");
    await waitFor(() => expect(document.activeElement).toBe(field));
  });

  it("keeps the focus on the screen when the control that had it goes away", async () => {
    const api = fakeApi({
      state: async () => ALICE,
      conversations: async () => [
        {
          peer: BOB.address,
          unread: 0,
          last: { id: "m", peer: BOB.address, direction: "in", text: "hi", at: 1, seq: 1 },
        },
      ],
      thread: async () => ({ peer: BOB.address, messages: [] }),
    });
    render(h(App, { api }));
    const item = await screen.findByRole("button", { name: /bob@127.0.0.1/ });
    item.focus();
    fireEvent.click(item);
    const heading = await screen.findByRole("heading", { name: BOB.address });
    await waitFor(() => expect(document.activeElement).toBe(heading));
    const back = screen.getByRole("button", { name: "Back" });
    back.focus();
    fireEvent.click(back);
    const inbox = await screen.findByRole("heading", { name: "Inbox" });
    await waitFor(() => expect(document.activeElement).toBe(inbox));
  });
});
