import { JsonSyntaxError, parseJsonDocument, setMembers } from "../../provider/daemon/json-document";

describe("setMembers keeps everything it does not manage", () => {
  const file = '{\n    "log-driver": "journald",\n    "ip": "0.0.0.0",\n    "default-address-pools": [ {"base": "10.10.0.0/16", "size": 24} ],\n    "iptables": true\n}\n';

  test("a changed value is replaced in place; other members, order, indentation and the final newline stay", () => {
    expect(setMembers(file, { ip: "127.0.0.1" })).toBe(file.replace('"0.0.0.0"', '"127.0.0.1"'));
  });

  test("a new key goes after the last member with the file's own indentation and separator", () => {
    expect(setMembers(file, { "live-restore": true })).toBe(file.replace('"iptables": true\n', '"iptables": true,\n    "live-restore": true\n'));
  });

  test("removing a key takes its comma along; removing the first member too", () => {
    expect(setMembers(file, { iptables: undefined })).toBe(file.replace(',\n    "iptables": true', ""));
    expect(setMembers(file, { "log-driver": undefined })).toBe(file.replace('"log-driver": "journald",\n    ', ""));
  });

  test("set then removed gives the original text back", () => {
    expect(setMembers(setMembers(file, { "live-restore": true }), { "live-restore": undefined })).toBe(file);
  });

  test("one-line objects stay on one line; an empty object or file gets two-space indentation", () => {
    expect(setMembers('{"a":1}', { ip: "127.0.0.1" })).toBe('{"a":1, "ip":"127.0.0.1"}');
    expect(setMembers("{}\n", { iptables: false })).toBe('{\n  "iptables": false\n}\n');
    expect(setMembers("", { iptables: false })).toBe('{\n  "iptables": false\n}\n');
    expect(setMembers('{\n  "ip": "1.2.3.4"\n}\n', { ip: undefined })).toBe("{}\n");
  });
});

describe("parseJsonDocument", () => {
  test("reads the values of the top-level members", () => {
    expect(parseJsonDocument('{"a": {"b": [1, "x"]}, "c": false}').values).toEqual({ a: { b: [1, "x"] }, c: false });
  });

  test.each([
    ['{\n  "a": true,\n}\n', 3, "trailing comma"],
    ['{\n  "a": true\n  "b": false\n}', 3, "missing comma"],
    ["{\n  'a': 1\n}", 2, "double-quoted key"],
    ['{\n  "a": tru\n}', 2, "value was expected"],
    ['[\n  "a"\n]', 1, "one JSON object"],
    ['{\n  "a": 1\n}\n}', 4, "after the object"],
    ['{\n  "a": 1,\n  "b": 2,\n  "a": 3\n}', 4, "second time (first on line 2)"],
  ])("refuses %j at line %i", (text, line, reason) => {
    let caught: unknown;
    try {
      parseJsonDocument(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(JsonSyntaxError);
    expect((caught as JsonSyntaxError).line).toBe(line);
    expect((caught as JsonSyntaxError).message).toContain(reason);
  });
});
