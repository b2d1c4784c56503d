import { parseCommand, UsageError } from "../../provider/cli/arguments";

describe("parseCommand", () => {
  it("reads can-reach with every option", () => {
    expect(parseCommand(["can-reach", "--from", "192.0.2.1", "--in", "eth0", "--to", "192.0.2.100", "--port", "8080", "--protocol", "udp", "--json"])).toEqual({
      kind: "can-reach",
      question: { from: "192.0.2.1", inInterface: "eth0", to: "192.0.2.100", port: 8080, protocol: "udp" },
      connection: undefined,
      json: true,
    });
  });

  it("reads exposure over SSH, the key read from its file", () => {
    expect(parseCommand(["exposure", "--host", "h.example", "--user", "ops", "--key", "/k", "--ssh-port", "2222", "--sudo"], (path) => `key from ${path}`)).toEqual({
      kind: "exposure",
      connection: { host: "h.example", user: "ops", port: 2222, privateKey: "key from /k", sudo: true },
      json: false,
    });
  });

  it("help, with or without a command", () => {
    expect(parseCommand([])).toEqual({ kind: "help" });
    expect(parseCommand(["--help"])).toEqual({ kind: "help" });
    expect(parseCommand(["exposure", "-h"])).toEqual({ kind: "help" });
  });

  it.each([
    [["frob"], /unknown command `frob`/],
    [["can-reach", "--port", "80"], /--from is required/],
    [["can-reach", "--from", "192.0.2.1"], /--port is required/],
    [["can-reach", "--from", "192.0.2.1", "--port", "http"], /--port must be a port number/],
    [["can-reach", "--from", "192.0.2.1", "--port", "80", "--protocol", "icmp"], /--protocol must be tcp or udp/],
    [["exposure", "--user", "ops"], /--user needs --host/],
    [["exposure", "--from", "192.0.2.1"], /Unknown option '--from'/],
    [["exposure", "--host", "h", "--key", "/missing"], /cannot read --key \/missing/],
  ])("refuses %j", (argv, message) => {
    const read = (path: string) => {
      throw new Error(`ENOENT ${path}`);
    };
    expect(() => parseCommand(argv, read)).toThrow(UsageError);
    expect(() => parseCommand(argv, read)).toThrow(message);
  });
});
