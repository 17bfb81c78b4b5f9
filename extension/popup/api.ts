/**
 * The popup's view of the worker: one method per request in `shared/messages.ts`, each a
 * thin call to `sendRequest`. Components take an `Api` from context, so tests hand them a
 * fake one and the worker is tested on its own (tests/extension/background/).
 */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { ProtocolError } from "../../protocol/errors.js";
import { ExtensionError } from "../shared/errors.js";
import {
  REQUEST_TYPES,
  type RequestOf,
  type RequestType,
  type Responses,
  sendRequest,
} from "../shared/messages.js";

type Fields<T extends RequestType> = Omit<RequestOf<T>, "type">;
/** Requests without fields take no argument: `api.lock()`, `api.unlock({ password })`. */
type Call<T extends RequestType> = (
  ...args: keyof Fields<T> extends never ? [] : [Fields<T>]
) => Promise<Responses[T]>;

export type Api = { [T in RequestType]: Call<T> };

type Send = <T extends RequestType>(req: RequestOf<T>) => Promise<Responses[T]>;

export function createApi(send: Send = sendRequest): Api {
  const entries = REQUEST_TYPES.map((type) => [
    type,
    (fields?: object) => send({ ...fields, type } as RequestOf<typeof type>),
  ]);
  return Object.fromEntries(entries) as Api;
}

export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi() outside <ApiContext.Provider>");
  return api;
}

/** What the popup shows of a failure: a code and one calm line, never a stack. */
export interface Problem {
  code: string;
  text: string;
  /** The error's own first line, for what the calm text leaves out (a relay's URL). */
  message?: string;
}

const FRIENDLY: Partial<Record<string, string>> = {
  WRONG_PASSWORD: "Wrong password. Please try again.",
  LOCKED: "The account is locked. Unlock it first.",
  IDENTITY_CHANGED: "This contact's identity key has changed.",
  UNKNOWN_CONTACT: "No contact by that address. Add the contact first.",
  RELAY_UNAVAILABLE: "The relay could not be reached. Try again later.",
  RELAY_REJECTED: "The relay refused the request.",
  RELAY_KEY_CHANGED: "The relay's keys have changed since first use.",
  NO_RECEIVER: "The extension's background worker did not answer.",
  INTERNAL: "Something went wrong inside the extension.",
};

export function toProblem(e: unknown): Problem {
  if (ProtocolError.is(e) || ExtensionError.is(e)) {
    return { code: e.code, text: FRIENDLY[e.code] ?? firstLine(e.message), message: e.message };
  }
  return { code: "INTERNAL", text: FRIENDLY.INTERNAL ?? "" };
}

function firstLine(s: string): string {
  const line = s.split("\n", 1)[0] ?? "";
  const text = line.length > 160 ? `${line.slice(0, 157)}…` : line;
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : "Something went wrong.";
}
