import { complement, intersect, parsePrefix, parseRange, subtract, toPrefixes, union } from "../../provider/exposure/address-set";

const v4 = (text: string) => parsePrefix(text, "ipv4")!;

describe("address sets", () => {
  it("reads prefixes and ranges, and writes sets back as the fewest prefixes", () => {
    expect(toPrefixes(v4("10.1.2.3/8"), "ipv4")).toEqual(["10.0.0.0/8"]);
    expect(toPrefixes(parseRange("192.0.2.1-192.0.2.6", "ipv4")!, "ipv4")).toEqual(["192.0.2.1/32", "192.0.2.2/31", "192.0.2.4/31", "192.0.2.6/32"]);
    expect(toPrefixes(complement(v4("0.0.0.0/1"), "ipv4"), "ipv4")).toEqual(["128.0.0.0/1"]);
    expect(toPrefixes(parsePrefix("2001:db8::/32", "ipv6")!, "ipv6")).toEqual(["2001:db8::/32"]);
    expect(parsePrefix("2001:db8::/32", "ipv4")).toBeUndefined();
    expect(parseRange("10.0.0.9-10.0.0.1", "ipv4")).toEqual([]);
  });

  it("union, intersection and difference", () => {
    const a = union(v4("10.0.0.0/24"), v4("10.0.1.0/24"));
    expect(toPrefixes(a, "ipv4")).toEqual(["10.0.0.0/23"]);
    expect(toPrefixes(intersect(a, v4("10.0.1.128/25")), "ipv4")).toEqual(["10.0.1.128/25"]);
    expect(toPrefixes(subtract(a, v4("10.0.0.128/25")), "ipv4")).toEqual(["10.0.0.0/25", "10.0.1.0/24"]);
    expect(toPrefixes(subtract(v4("10.0.0.0/8"), union(v4("10.0.0.0/9"), v4("10.128.0.0/9"))), "ipv4")).toEqual([]);
  });
});
