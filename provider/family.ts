/** An IP family: `iptables` manages ipv4, `ip6tables` ipv6. */
export type Family = "ipv4" | "ipv6";

/** Both families, in the order they are read and applied. */
export const FAMILIES: readonly Family[] = ["ipv4", "ipv6"];
