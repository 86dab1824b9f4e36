// The runner's version, printed by --version and in the session header.
export const VERSION = '0.1.0';
