/**
 * Which iptables binaries to run: the host's default (`iptables`, whatever
 * its alternatives point at), or the nf_tables or legacy variant by name.
 */
export type Backend = "auto" | "nft" | "legacy";

/** The suffix that names a backend's binaries (`iptables-legacy-save`). */
export function backendSuffix(backend: Backend): string {
  return backend === "auto" ? "" : `-${backend}`;
}
