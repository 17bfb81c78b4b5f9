/** Help texts longer than a line, kept out of main.ts so it stays wiring. */

export const ENVIRONMENT = `
Environment:
  SECURE_MSG_PROFILE       profile folder, instead of --profile
  SECURE_MSG_PASSWORD      the profile's password, instead of a prompt
  SECURE_MSG_NEW_PASSWORD  the new password for 'passwd', instead of a prompt
  SECURE_MSG_DEBUG=1       print stack traces of errors

Without SECURE_MSG_PASSWORD the password is asked on the terminal, with echo off.

Exit codes: 0 success, 1 cryptographic or authentication failure, 2 usage error,
70 internal error, 130 aborted at a password prompt.
`;

export const KDF_KNOB = `
Testing knob: SECURE_MSG_KDF=m,t,p sets the Argon2id cost (memory KiB, passes, lanes),
e.g. 1024,1,1 for fast tests. It weakens the password protection: do not use it for a
real profile. Unset, the default is 65536,3,1.
`;
