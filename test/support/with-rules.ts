import type { Snapshot } from "../../provider/host-session";
import type { Family } from "../../provider/family";
import { parseSave, renderSave } from "../../provider/iptables/ruleset";

/**
 * A snapshot with rule lines put at the top of their chains in one table of
 * one family (the table, and its chains, are declared when missing), as if
 * an admin had inserted them with `iptables -I`.
 */
export function withRules(snapshot: Snapshot, family: Family, table: string, lines: readonly string[]): Snapshot {
  const text = renderSave(snapshot[family]);
  const chains = [...new Set(lines.map((l) => l.split(" ")[1]))];
  const builtins = new Set(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]);
  const start = text.indexOf(`*${table}\n`);
  let updated: string;
  if (start < 0) {
    const declared = chains.map((c) => `:${c} ${builtins.has(c) ? "ACCEPT" : "-"} [0:0]`);
    updated = `${text}*${table}\n${[...declared, ...lines].join("\n")}\nCOMMIT\n`;
  } else {
    const body = text.slice(start).split("\n");
    let lastDeclaration = 0;
    while (body[lastDeclaration + 1]?.startsWith(":")) lastDeclaration++;
    const declaredNames = new Set(body.slice(1, lastDeclaration + 1).map((l) => l.slice(1).split(" ")[0]));
    const missing = chains.filter((c) => !declaredNames.has(c)).map((c) => `:${c} ${builtins.has(c) ? "ACCEPT" : "-"} [0:0]`);
    body.splice(lastDeclaration + 1, 0, ...missing, ...lines);
    updated = text.slice(0, start) + body.join("\n");
  }
  return { ...snapshot, [family]: parseSave(updated) };
}
