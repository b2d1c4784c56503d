import { FirewallError } from "../errors";

/**
 * Turns an argv array into a POSIX `sh` command line that runs exactly that
 * argv: every argument is wrapped in single quotes, inside which the shell
 * gives no character a meaning, and each `'` becomes `'\''` (close the quote,
 * an escaped quote, reopen). SSH sends a command as one string that the
 * remote user's login shell parses, so this is how argv survives the trip.
 *
 * @param argv the command and its arguments; must not be empty
 * @returns the command line, e.g. `'printf' '%s' 'it'\''s'`
 * @throws FirewallError when argv is empty or an argument holds a NUL byte,
 *   which no command line can carry
 */
export function shellQuote(argv: readonly string[]): string {
  if (argv.length === 0) throw new FirewallError("cannot build a command line from an empty argv");
  return argv
    .map((arg, i) => {
      if (arg.includes("\0")) throw new FirewallError(`argument ${i} contains a NUL byte, which a command line cannot carry`);
      return `'${arg.replaceAll("'", `'\\''`)}'`;
    })
    .join(" ");
}
