import type { ExposureEntry } from "./exposure";

/**
 * The entries of an exposure report that anyone can reach: on some inbound
 * interface, the sources of their reachable parts cover the family's whole
 * address space (parts never overlap, so their sizes add up).
 */
export function openToEveryone(entries: readonly ExposureEntry[]): ExposureEntry[] {
  return entries.filter((entry) => {
    const bits = entry.family === "ipv4" ? 32n : 128n;
    const covered = new Map<string | null, bigint>();
    for (const part of entry.parts) {
      if (part.reachable !== true) continue;
      const size = part.sources.reduce((sum, cidr) => sum + (1n << (bits - BigInt(cidr.split("/")[1] ?? bits))), 0n);
      covered.set(part.inInterface, (covered.get(part.inInterface) ?? 0n) + size);
    }
    return [...covered.values()].some((size) => size === 1n << bits);
  });
}
