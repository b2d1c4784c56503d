import { closestKey } from "../../provider/schema/closest-key";

const RULE_KEYS = [
  "action", "comment", "connection", "ctstate", "destination", "destinationPort", "destinationRange", "family", "inInterface", "iptablesBackend",
  "originalDestination", "originalDestinationPort", "originalSource", "outInterface", "priority", "protocol", "source", "sourceRange",
];
const PORT_KEYS = ["allowFrom", "comment", "connection", "family", "hostPort", "iptablesBackend", "inInterface", "priority", "protocol"];

describe("closestKey", () => {
  it.each([
    ["Source", "source"],
    ["ACTION", "action"],
    ["in_interface", "inInterface"],
    ["ct-state", "ctstate"],
  ])("matches %j in another case or with _ and - (%j)", (typo, key) => {
    expect(closestKey(typo, RULE_KEYS)).toBe(key);
  });

  it.each([
    ["sourc", "source"],
    ["sources", "source"],
    ["actoin", "action"],
    ["protcol", "protocol"],
    ["priorty", "priority"],
    ["destinaton", "destination"],
    ["destinationPorts", "destinationPort"],
    ["orignalDestinatonPort", "originalDestinationPort"],
  ])("matches %j within a few edits (%j)", (typo, key) => {
    expect(closestKey(typo, RULE_KEYS)).toBe(key);
  });

  it.each([
    ["proto", "protocol"],
    ["prio", "priority"],
    ["dest", "destination"],
    ["sourceAddress", "source"],
    ["commentText", "comment"],
  ])("matches %j as an abbreviation or extension, the nearest in length (%j)", (typo, key) => {
    expect(closestKey(typo, RULE_KEYS)).toBe(key);
  });

  it("prefers a typo to an abbreviation, and the fewest edits to more", () => {
    expect(closestKey("sourceRang", RULE_KEYS)).toBe("sourceRange");
    expect(closestKey("allowfrom", PORT_KEYS)).toBe("allowFrom");
    expect(closestKey("hostport", PORT_KEYS)).toBe("hostPort");
  });

  it("suggests nothing when no key is close", () => {
    expect(closestKey("bogus", RULE_KEYS)).toBeUndefined();
    expect(closestKey("sourceRange", PORT_KEYS)).toBeUndefined();
    expect(closestKey("outInterface", PORT_KEYS)).toBeUndefined();
    expect(closestKey("src", RULE_KEYS)).toBeUndefined();
    expect(closestKey("", RULE_KEYS)).toBeUndefined();
    expect(closestKey("__", RULE_KEYS)).toBeUndefined();
    expect(closestKey("sourc", [])).toBeUndefined();
  });

  it("breaks ties alphabetically, whatever the order of the known keys", () => {
    expect(closestKey("ab", ["ac", "aa"])).toBe("aa");
    expect(closestKey("ab", ["aa", "ac"])).toBe("aa");
  });

  it("stays cheap on a huge key", () => {
    const started = Date.now();
    expect(closestKey("x".repeat(100_000), RULE_KEYS)).toBeUndefined();
    expect(closestKey(`source${"x".repeat(100_000)}`, RULE_KEYS)).toBe("source");
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
