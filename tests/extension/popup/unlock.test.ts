// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import { h } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "../../../extension/popup/app.js";
import { fromWire } from "../../../extension/shared/errors.js";
import type { State } from "../../../extension/shared/messages.js";
import { ProtocolError } from "../../../protocol/errors.js";
import { ALICE, fakeApi } from "./fake-api.js";

afterEach(cleanup);

function unlockWith(password: string) {
  fireEvent.input(screen.getByLabelText("Password"), { target: { value: password } });
  fireEvent.click(screen.getByRole("button", { name: "Unlock" }));
}

describe("unlock", () => {
  it("shows WRONG_PASSWORD clearly, then unlocks with the right one", async () => {
    const api = fakeApi({
      state: async () => ({ status: "locked" }),
      unlock: async ({ password }: { password: string }) => {
        if (password !== "right password") {
          // As it arrives from the worker: rebuilt from the wire.
          throw fromWire({ name: "ProtocolError", code: "WRONG_PASSWORD", message: "x" });
        }
        return ALICE;
      },
    });
    render(h(App, { api }));
    await screen.findByRole("button", { name: "Unlock" });
    unlockWith("wrong password");
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Wrong password");
    expect(alert.textContent).toContain("WRONG_PASSWORD");
    expect(ProtocolError.is(await api.unlock({ password: "x" }).catch((e) => e))).toBe(true);

    unlockWith("right password");
    expect(await screen.findByRole("button", { name: "Lock" })).toBeTruthy();
    expect(api.unlock).toHaveBeenLastCalledWith({ password: "right password" });
  });

  it("a lock elsewhere (auto-lock) takes the unlocked screens away at once", async () => {
    let locked: (() => void) | undefined;
    const onLock = (then: () => void) => {
      locked = then;
      return () => {
        locked = undefined;
      };
    };
    let state: State = ALICE;
    render(h(App, { api: fakeApi({ state: async () => state }), onLock }));
    expect(await screen.findByRole("button", { name: "Lock" })).toBeTruthy();
    // The popup asks the worker what follows (during a restore, the restored account).
    state = { status: "locked" };
    locked!();
    expect(await screen.findByRole("button", { name: "Unlock" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Lock" })).toBe(null);
    cleanup();
    expect(locked).toBeUndefined();
  });
});
