/** Help texts longer than a line, kept out of main.ts so it stays wiring. */

export const ENVIRONMENT = `
Environment:
  SECURE_MSG_PROFILE       profile folder, instead of --profile
  SECURE_MSG_PASSWORD      the profile's password, instead of a prompt
  SECURE_MSG_NEW_PASSWORD  the new password for 'passwd', instead of a prompt
  SECURE_MSG_BACKUP_PASSWORD  the password of a backup file ('backup export', 'backup import')
  SECURE_MSG_DEBUG=1       print stack traces of errors

Without SECURE_MSG_PASSWORD the password is asked on the terminal, with echo off.

Exit codes: 0 success, 1 cryptographic or authentication failure, or a relay that
cannot be reached, refused, or changed its keys, 2 usage error, 70 internal error,
130 aborted at a password prompt.
`;

export const RELAY_HELP = `
The data folder holds the SQLite database (relay.db, in WAL mode) and the key file
(relay.key), created on first start with mode 0600. The key file is the relay's identity:
keep it and back it up. Clients pin its keys on first use and refuse a relay whose keys
changed, so a new key file means every user must re-check the relay fingerprint (printed
on start) and pass --accept-relay-key once. A relay whose key file was replaced refuses to
start on its old data until you pass --rekey, which re-signs everything with the new key.

With --database-url (or DATABASE_URL) the relay keeps its data in PostgreSQL instead, in
the schema named by ?schema= (default public), and any number of relay processes may
share that database. They must all use one key file: copy it (mode 0600) to each host, or
share one data folder.

Environment variables (shown with each option) stand in for the options. Logs are JSON lines on stdout. SIGTERM or SIGINT stops the relay gracefully.
`;

export const WATCH_HELP = `
With --watch the command keeps running, printing messages as they arrive, until Ctrl-C
(SIGINT) or SIGTERM. It holds the profile for its whole lifetime: other secure-msg
commands on the same profile wait for it (up to 10 s) and then fail with "in use".
`;

export const KDF_KNOB = `
Testing knob: SECURE_MSG_KDF=m,t,p sets the Argon2id cost (memory KiB, passes, lanes),
e.g. 1024,1,1 for fast tests. It weakens the password protection: do not use it for a
real profile. Unset, the default is 65536,3,1.
`;
