/** Options that several commands share, defined once so their names and help agree. */
import { Option } from "commander";

export const profileOption = () =>
  new Option("--profile <dir>", "profile folder").env("SECURE_MSG_PROFILE").makeOptionMandatory();

export const acceptRelayKeyOption = () =>
  new Option(
    "--accept-relay-key",
    "accept a relay whose keys changed (only after its operator confirmed the new fingerprint)",
  );
