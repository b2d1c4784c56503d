import { classifyCommandFailure } from "../provider/command-failure";
import { CommandError, HostError, RestoreError } from "../provider/errors";

const classify = (stderr: string, code = 1, argv = ["sh", "-c", "script"]) => classifyCommandFailure("root@203.0.113.2:22", argv, { code, stdout: "", stderr });

describe("classifyCommandFailure", () => {
  it.each([
    ["iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n", 4, "`iptables-save` needs root"],
    ["Failed to list table names in /proc/net/ip_tables_names: Permission denied\n", 1, "needs root"],
    ["Fatal: can't open lock file /run/xtables.lock: Permission denied\n", 4, "needs root"],
    ["sh: 1: iptables-legacy-save: not found\n", 127, "`iptables-legacy-save` is not installed"],
    ["sudo: a password is required\n", 1, "sudo asks for a password"],
  ])("reads %j as a HostError naming the fix", (stderr, code, message) => {
    const error = classify(stderr, code);
    expect(error).toBeInstanceOf(HostError);
    expect(error.message).toContain("root@203.0.113.2:22: ");
    expect(error.message).toContain(message);
  });

  it.each([
    "iptables-restore: line 3 failed\n",
    "iptables-restore v1.8.9 (legacy): Couldn't load match `doesnotexist':No such file or directory\n\nError occurred at line: 3\n",
  ])("reads a rejected restore from either variant: %j", (stderr) => {
    expect(classify(stderr, 2, ["iptables-restore", "--noflush"])).toBeInstanceOf(RestoreError);
  });

  it("keeps anything else a CommandError with the command, code and stderr", () => {
    const error = classify("something odd\n", 3, ["cat", "/etc/docker/daemon.json"]);
    expect(error).toBeInstanceOf(CommandError);
    expect(error.message).toBe("root@203.0.113.2:22: `cat /etc/docker/daemon.json` exited with 3: something odd");
  });
});
