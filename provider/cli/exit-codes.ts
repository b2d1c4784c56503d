/**
 * The CLI's exit codes (sysexits.h numbers for usage and host errors), one
 * place for the code and `--help`.
 */
export const EXIT = {
  /** `can-reach`: reachable. `exposure`: the report is complete (every verdict known). */
  ok: 0,
  /** `can-reach`: not reachable (blocked, or nothing serves the port). */
  blocked: 1,
  /** A deciding rule is not understood: `can-reach` cannot tell; `exposure` has at least one unknown part. */
  unknown: 2,
  /** The command line is wrong (EX_USAGE). */
  usage: 64,
  /** The host could not be read: SSH failed, iptables-save failed, … (EX_UNAVAILABLE). */
  hostError: 69,
  /** A bug: anything else (EX_SOFTWARE). */
  internal: 70,
} as const;
