import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NO_NFT, type NftState } from "../../provider/nft-state";
import type { Snapshot } from "../../provider/host-session";
import { parseListeners } from "../../provider/docker/listeners";
import { EMPTY_RULESET, parseSave, type Ruleset } from "../../provider/iptables/ruleset";

/**
 * The real captures in test/fixtures (copied from ../shared/fixtures):
 * Docker 20.10 (one file per family), and 26.1.5, 28.5.2, 29.7.2 (both
 * families in one file under `### iptables-save` / `### ip6tables-save`
 * headers, with `listeners.txt` from `ss -ltnp`).
 */

const FIXTURES = join(__dirname, "..", "fixtures");

/** A fixture file's text. */
export function fixtureText(path: string): string {
  return readFileSync(join(FIXTURES, path), "utf8");
}

/** A host snapshot from captures: per family a save text (or nothing), listeners as `ss -ltnp` printed them, and nftables' tables as read (none by default). */
export function snapshotOf(v4: string | undefined, v6: string | undefined, listeners = "", nft: NftState = { ...NO_NFT, status: "ready" }): Snapshot {
  return {
    ipv4: v4 ? parseSave(v4) : EMPTY_RULESET,
    ipv6: v6 ? parseSave(v6) : EMPTY_RULESET,
    fingerprints: { ipv4: "", ipv6: "" },
    unavailable: [],
    // ss -ltnp prints no Netid column: these captures are all TCP.
    listeners: parseListeners(listeners.split("\n").filter(Boolean).map((l) => `tcp ${l}`).join("\n")),
    nft,
  };
}

/** A 26/28/29 capture: both families and, where captured, the listeners beside it. */
export function dockerCapture(dir: string, file: string): Snapshot {
  const text = fixtureText(`${dir}/${file}`);
  const [v4, v6] = text.split(/^### ip6tables-save\n/m);
  let listeners = "";
  try {
    listeners = fixtureText(`${dir}/listeners.txt`);
  } catch {
    // not captured for this configuration
  }
  return snapshotOf(v4.replace(/^### iptables-save\n/, ""), v6, listeners);
}

/** One family's ruleset of a 20.10 capture. */
export function docker2010(file: string): Ruleset {
  return parseSave(fixtureText(`docker-20.10/${file}`));
}
