import { execFileSync } from "node:child_process";
import { FirewallError } from "../../provider/errors";
import { shellQuote } from "../../provider/host/shell-quote";

/** Runs `printf '%s\0' args…` through a real shell and returns the argv printf received. */
function roundTrip(shell: string, args: readonly string[]): string[] {
  const out = execFileSync(shell, ["-c", shellQuote(["printf", "%s\\0", ...args])], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

/** A small seeded generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "'", "''", "'\\''", '"', "$", "$HOME", "${x}", "$(id)", "`id`", "\\", "\\n", "\n", "\r", "\t", " ", "  ",
  ";", "|", "&", "&&", "<", ">", ">>", "*", "?", "~", "[a]", "{a,b}", "#", "!", "-", "--", "%s", "%",
  "é", "漢字", "🙂", "\u00a0", "a", "Z", "0", "=",
];

function generateArg(next: () => number): string {
  const length = Math.floor(next() * 6);
  let arg = "";
  for (let i = 0; i < length; i++) arg += PIECES[Math.floor(next() * PIECES.length)];
  return arg;
}

describe("shellQuote", () => {
  it("wraps every argument in single quotes", () => {
    expect(shellQuote(["iptables", "-S"])).toBe("'iptables' '-S'");
    expect(shellQuote(["echo", ""])).toBe("'echo' ''");
    expect(shellQuote(["echo", "a b"])).toBe("'echo' 'a b'");
  });

  it("turns each single quote into '\\''", () => {
    expect(shellQuote(["echo", "it's"])).toBe("'echo' 'it'\\''s'");
    expect(shellQuote(["'"])).toBe("''\\'''");
  });

  it("leaves every other character as it is", () => {
    expect(shellQuote(["$(rm -rf /)`x`;|&\n\\"])).toBe("'$(rm -rf /)`x`;|&\n\\'");
  });

  it("rejects an argument holding a NUL byte, naming its position", () => {
    expect(() => shellQuote(["echo", "a\0b"])).toThrow(FirewallError);
    expect(() => shellQuote(["echo", "a\0b"])).toThrow("argument 1 contains a NUL byte");
  });

  it("rejects an empty argv", () => {
    expect(() => shellQuote([])).toThrow(FirewallError);
  });

  it.each(["/bin/sh", "/bin/bash"])("hands the exact argv to %s for fixed awkward strings", (shell) => {
    const args = ["", " ", "'", "''", "\n", "a\nb", "$HOME", "`id`", "$(id)", "\\", "*", "~", "-n", "--", "é漢🙂", "x'y\"z"];
    expect(roundTrip(shell, args)).toEqual(args);
  });

  it.each(["/bin/sh", "/bin/bash"])("hands the exact argv to %s for 300 generated argument lists", (shell) => {
    const next = random(0x5eed);
    for (let run = 0; run < 300; run++) {
      const args = Array.from({ length: 1 + Math.floor(next() * 4) }, () => generateArg(next));
      expect(roundTrip(shell, args)).toEqual(args);
    }
  });
});
