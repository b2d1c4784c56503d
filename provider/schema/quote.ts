/** How many characters of a user's value a message shows at most. */
const SHOWN = 40;

/**
 * A user's value as error messages show it: in double quotes with quotes,
 * backslashes and control characters escaped (JSON), and cut after its first
 * 40 characters with `…`, so a message stays one short line whatever was
 * given (`quote("10.0.0.0/33")` is `"10.0.0.0/33"`).
 */
export function quote(value: string): string {
  // Enough code units for SHOWN + 1 characters, so a 100 kB value is never copied whole.
  const chars = Array.from(value.slice(0, 2 * SHOWN + 2));
  return chars.length <= SHOWN ? JSON.stringify(value) : `${JSON.stringify(chars.slice(0, SHOWN).join("")).slice(0, -1)}…"`;
}
