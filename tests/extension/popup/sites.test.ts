// @vitest-environment happy-dom
/**
 * Settings › Sites (popup/sites.tsx): the permission is asked for in the click itself and
 * the worker is told at once; "Allow all sites" asks for both host patterns; a refused
 * prompt shows the site as not allowed; Remove tells the worker.
 */
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { h } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiContext } from "../../../extension/popup/api.js";
import { Sites } from "../../../extension/popup/sites.js";
import type { Site } from "../../../extension/shared/messages.js";
import { fakeApi } from "./fake-api.js";

afterEach(cleanup);

async function setup(granted: (origins: string[]) => boolean) {
  let list: Site[] = [];
  const allowed = new Set<string>();
  const api = fakeApi({
    sites: async () => list,
    addSite: async ({ site }: { site: string }) => {
      list = [...list.filter((s) => s.pattern !== site), { pattern: site, allowed: false }];
      return list;
    },
    removeSite: async ({ site }: { site: string }) => {
      list = list.filter((s) => s.pattern !== site);
      return list;
    },
  });
  // The worker reports what the browser granted when the list is read again.
  api.sites.mockImplementation(async () =>
    list.map((s) => ({ ...s, allowed: allowed.has(s.pattern) })),
  );
  const ask = vi.fn(async (origins: string[]) => {
    const ok = granted(origins);
    if (ok) for (const o of origins) allowed.add(o);
    return ok;
  });
  render(h(ApiContext.Provider, { value: api }, h(Sites, { ask })));
  // The buttons wait for the list to load.
  await waitFor(() =>
    expect(screen.getByRole("button", { name: "Add site" }).hasAttribute("disabled")).toBe(false),
  );
  return { api, ask };
}

describe("Sites", () => {
  it("asks the browser and tells the worker in the same click", async () => {
    const { api, ask } = await setup(() => true);
    fireEvent.input(screen.getByLabelText("Site"), { target: { value: "mail.example.com" } });
    fireEvent.click(screen.getByRole("button", { name: "Add site" }));
    // Both started synchronously, inside the user's click.
    expect(ask).toHaveBeenCalledWith(["https://mail.example.com/*"]);
    expect(api.addSite).toHaveBeenCalledWith({ site: "https://mail.example.com/*" });
    expect(
      await screen.findByRole("button", { name: "Remove https://mail.example.com" }),
    ).toBeTruthy();
    expect(screen.queryByText(/not allowed/)).toBe(null);

    fireEvent.click(screen.getByRole("button", { name: "Remove https://mail.example.com" }));
    await waitFor(() =>
      expect(api.removeSite).toHaveBeenCalledWith({ site: "https://mail.example.com/*" }),
    );
    await waitFor(() => expect(screen.queryByRole("button", { name: /^Remove/ })).toBe(null));
  });

  it("shows a refused site as not allowed, with Allow to ask again", async () => {
    await setup(() => false);
    fireEvent.input(screen.getByLabelText("Site"), { target: { value: "mail.example.com" } });
    fireEvent.click(screen.getByRole("button", { name: "Add site" }));
    expect(await screen.findByText(/not allowed by the browser/)).toBeTruthy();
    expect(screen.getByRole("button", { name: "Allow" })).toBeTruthy();
  });

  it("allows all sites with both host patterns", async () => {
    const { api, ask } = await setup(() => true);
    fireEvent.click(screen.getByRole("button", { name: "Allow all sites" }));
    expect(ask).toHaveBeenCalledWith(["https://*/*", "http://*/*"]);
    await waitFor(() => expect(api.addSite).toHaveBeenCalledTimes(2));
    expect(await screen.findByRole("button", { name: "Remove All https sites" })).toBeTruthy();
    await waitFor(() =>
      expect(screen.queryByRole("button", { name: "Allow all sites" })).toBe(null),
    );
  });

  it("refuses what is not a site without asking anything", async () => {
    const { api, ask } = await setup(() => true);
    fireEvent.input(screen.getByLabelText("Site"), { target: { value: "ftp://x" } });
    fireEvent.click(screen.getByRole("button", { name: "Add site" }));
    expect(screen.getByRole("alert").textContent).toContain("Give a host");
    expect(ask).not.toHaveBeenCalled();
    expect(api.addSite).not.toHaveBeenCalled();
  });
});
