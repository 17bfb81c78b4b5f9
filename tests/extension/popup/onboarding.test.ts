// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { h } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "../../../extension/popup/app.js";
import { strength } from "../../../extension/popup/onboarding.js";
import { ALICE, fakeApi } from "./fake-api.js";

afterEach(cleanup);

async function fill(api: ReturnType<typeof fakeApi>, password: string, confirm: string) {
  render(h(App, { api }));
  const relay = (await screen.findByLabelText("Relay URL")) as HTMLInputElement;
  await waitFor(() => expect(relay.value).toBe("http://127.0.0.1:8080"));
  fireEvent.input(relay, { target: { value: "http://relay.test" } });
  fireEvent.input(screen.getByLabelText("Name"), { target: { value: "alice" } });
  fireEvent.input(screen.getByLabelText("Password"), { target: { value: password } });
  fireEvent.input(screen.getByLabelText("Confirm password"), { target: { value: confirm } });
  fireEvent.click(screen.getByRole("button", { name: "Create account" }));
}

describe("onboarding", () => {
  it("refuses a password shorter than 10 characters", async () => {
    const api = fakeApi();
    await fill(api, "short", "short");
    expect((await screen.findByRole("alert")).textContent).toMatch(/at least 10 characters/);
    expect(api.createAccount).not.toHaveBeenCalled();
  });

  it("refuses a confirmation that does not match", async () => {
    const api = fakeApi();
    await fill(api, "correct horse battery", "correct horse batterY");
    expect((await screen.findByRole("alert")).textContent).toMatch(/do not match/);
    expect(api.createAccount).not.toHaveBeenCalled();
  });

  it("creates the account with the fields, then shows the inbox", async () => {
    let finish: (v: unknown) => void = () => {};
    const api = fakeApi({
      createAccount: () =>
        new Promise((resolve) => {
          finish = resolve;
        }),
    });
    await fill(api, "correct horse battery", "correct horse battery");
    expect(api.createAccount).toHaveBeenCalledWith({
      relay: "http://relay.test",
      name: "alice",
      password: "correct horse battery",
    });
    expect((await screen.findByRole("status")).textContent).toMatch(/Creating keys/);
    finish({ ...ALICE, registered: true });
    expect(await screen.findByRole("button", { name: "Inbox" })).toBeTruthy();
  });

  it("shows a calm error with its code when the worker refuses", async () => {
    const { ProtocolError } = await import("../../../protocol/errors.js");
    const api = fakeApi({
      createAccount: async () => {
        throw new ProtocolError("RELAY_REJECTED", "the relay refused: NAME_TAKEN");
      },
    });
    await fill(api, "correct horse battery", "correct horse battery");
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("RELAY_REJECTED");
    expect(alert.textContent).not.toMatch(/at .*\(.*:\d+:\d+\)/);
  });

  it("hints at the password's strength", () => {
    expect(strength("short")).toBe("too short");
    expect(strength("aaaaaaaaaa")).toBe("weak");
    expect(strength("Correct horse battery 9")).toBe("strong");
  });
});
