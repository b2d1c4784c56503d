import { parseAddress, parseRange } from "../../provider/schema/address";

describe("parseAddress", () => {
  it.each([
    ["192.0.2.7", { family: "ipv4", address: "192.0.2.7", prefix: 32 }],
    ["10.0.0.0/8", { family: "ipv4", address: "10.0.0.0", prefix: 8 }],
    ["0.0.0.0/0", { family: "ipv4", address: "0.0.0.0", prefix: 0 }],
    ["2001:0DB8:0:0::1", { family: "ipv6", address: "2001:db8::1", prefix: 128 }],
    ["2001:DB8:AB::/48", { family: "ipv6", address: "2001:db8:ab::", prefix: 48 }],
    ["::2:3", { family: "ipv6", address: "::0.2.0.3", prefix: 128 }],
  ])("reads %j as iptables prints it", (text, address) => {
    expect(parseAddress(text)).toEqual(address);
  });

  it.each([
    ["10.1.2.3/8", '"10.1.2.3/8" has host bits set; did you mean "10.0.0.0/8"?'],
    ["192.168.1.1/24", '"192.168.1.1/24" has host bits set; did you mean "192.168.1.0/24"?'],
    ["1.2.3.4/0", '"1.2.3.4/0" has host bits set; did you mean "0.0.0.0/0"?'],
    ["2001:db8::1/32", '"2001:db8::1/32" has host bits set; did you mean "2001:db8::/32"?'],
    ["2001:DB8:AB::1:2/48", '"2001:DB8:AB::1:2/48" has host bits set; did you mean "2001:db8:ab::/48"?'],
  ])("refuses %j, a network with host bits set, naming the network", (text, message) => {
    expect(parseAddress(text)).toBe(message);
  });

  it("refuses what is not an address, quoting at most the start of it", () => {
    expect(parseAddress("10.0.0.0/33")).toBe('"10.0.0.0/33" has an invalid prefix length (0–32)');
    expect(parseAddress("host.example")).toBe('"host.example" is not an IPv4 or IPv6 address');
    expect(parseAddress("1".repeat(100_000))).toBe(`"${"1".repeat(40)}…" is not an IPv4 or IPv6 address`);
  });
});

describe("parseRange", () => {
  it("keeps ranges as they are, in iptables' spelling", () => {
    expect(parseRange("192.0.2.10-192.0.2.20")).toEqual({ family: "ipv4", text: "192.0.2.10-192.0.2.20" });
    expect(parseRange("2001:DB8::0001-2001:db8::00ff")).toEqual({ family: "ipv6", text: "2001:db8::1-2001:db8::ff" });
  });

  it("refuses networks, mixed families and backward ranges", () => {
    expect(parseRange("10.0.0.0/8-10.0.0.9")).toMatch(/is not a range of two addresses/);
    expect(parseRange("10.0.0.1-2001:db8::1")).toMatch(/^"10\.0\.0\.1-2001:db8::1" is not a range/);
    expect(parseRange("10.0.0.9-10.0.0.1")).toMatch(/starts after it ends/);
  });
});
