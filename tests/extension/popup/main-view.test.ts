// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { h } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "../../../extension/popup/app.js";
import { ALICE, fakeApi } from "./fake-api.js";

afterEach(cleanup);

const BOB = {
  address: "bob@127.0.0.1",
  name: "bob",
  relay: "http://127.0.0.1:8080",
  fingerprint: "BBBB 1111",
  verified: false,
  canStartSession: true,
};

function unlocked(overrides: Parameters<typeof fakeApi>[0] = {}) {
  const api = fakeApi({ state: async () => ALICE, ...overrides });
  render(h(App, { api }));
  return api;
}

describe("main view", () => {
  it("switches between Inbox, Contacts and Settings", async () => {
    const api = unlocked();
    expect(await screen.findByRole("heading", { name: "Inbox" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Contacts" }));
    expect(await screen.findByRole("heading", { name: "Contacts" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Contacts" }).getAttribute("aria-current")).toBe(
      "page",
    );
    fireEvent.click(screen.getByRole("button", { name: "Settings" }));
    expect(await screen.findByRole("heading", { name: "Settings" })).toBeTruthy();
    await waitFor(() => expect(api.settings).toHaveBeenCalled());
    expect(screen.getByRole("button", { name: "Change password" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Inbox" }));
    expect(await screen.findByRole("heading", { name: "Inbox" })).toBeTruthy();
  });

  it("shows conversations with unread counts and opens a thread in order", async () => {
    const msg = (seq: number, direction: "in" | "out", text: string, state?: string) => ({
      id: `m${seq}`,
      peer: BOB.address,
      direction,
      text,
      at: 1_700_000_000_000 + seq * 60_000,
      seq,
      ...(state ? { state } : {}),
    });
    const api = unlocked({
      conversations: async () => [{ peer: BOB.address, last: msg(3, "in", "third"), unread: 2 }],
      thread: async () => ({
        peer: BOB.address,
        messages: [
          msg(3, "in", "third"),
          msg(1, "out", "first", "sent"),
          msg(2, "out", "second", "failed"),
        ],
      }),
    });
    const item = await screen.findByRole("button", { name: /bob@127\.0\.0\.1.*2 unread/ });
    fireEvent.click(item);
    const list = await screen.findByRole("list", { name: `Messages with ${BOB.address}` });
    await waitFor(() => expect(list.querySelectorAll("li")).toHaveLength(3));
    const texts = Array.from(list.querySelectorAll(".text")).map((e) => e.textContent);
    expect(texts).toEqual(["first", "second", "third"]);
    expect(list.textContent).toContain("sent");
    expect(list.textContent).toContain("failed");
    expect(list.querySelectorAll("time")).toHaveLength(3);
    expect(api.thread).toHaveBeenCalledWith({ peer: BOB.address });
  });

  it("compose calls send with To and Message", async () => {
    const api = unlocked({
      send: async () => ({ id: "m1", delivered: true }),
      thread: async () => ({ peer: BOB.address, messages: [] }),
    });
    fireEvent.click(await screen.findByRole("button", { name: "New message" }));
    fireEvent.input(screen.getByLabelText("To"), { target: { value: BOB.address } });
    fireEvent.input(screen.getByLabelText("Message"), { target: { value: "hello bob" } });
    fireEvent.click(screen.getByRole("button", { name: "Send" }));
    await waitFor(() =>
      expect(api.send).toHaveBeenCalledWith({ to: BOB.address, text: "hello bob" }),
    );
    // Then the thread with that peer opens.
    expect(await screen.findByRole("heading", { name: BOB.address })).toBeTruthy();
  });

  it("adds a contact by address, shows its safety number, and marks it verified", async () => {
    const contacts = [BOB];
    const api = unlocked({
      contacts: async () => [...contacts],
      addContact: async () => BOB,
      contact: async () => ({ ...BOB, safetyNumber: "12345 67890" }),
      verifyContact: async () => ({ ...BOB, verified: true, safetyNumber: "12345 67890" }),
    });
    contacts.length = 0;
    fireEvent.click(await screen.findByRole("button", { name: "Contacts" }));
    fireEvent.input(await screen.findByLabelText("Address"), { target: { value: BOB.address } });
    contacts.push(BOB);
    fireEvent.click(screen.getByRole("button", { name: "Add contact" }));
    await waitFor(() =>
      expect(api.addContact).toHaveBeenCalledWith({
        address: BOB.address,
        acceptChangedIdentity: false,
      }),
    );
    expect(await screen.findByText("12345 67890")).toBeTruthy();
    expect(screen.getByText(BOB.fingerprint)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Mark verified" }));
    expect(await screen.findByText("Verified")).toBeTruthy();
    expect(api.verifyContact).toHaveBeenCalledWith({ address: BOB.address, verified: true });
  });

  it("Lock calls lock and returns to the unlock screen", async () => {
    const api = unlocked();
    fireEvent.click(await screen.findByRole("button", { name: "Lock" }));
    expect(await screen.findByRole("button", { name: "Unlock" })).toBeTruthy();
    expect(api.lock).toHaveBeenCalledTimes(1);
  });
});
