/**
 * A remote Docker host reached over SSH whose published ports bind to
 * 127.0.0.1 unless a container names another address: `docker run -p
 * 8080:80` then serves only the host itself (and an SSH tunnel or a reverse
 * proxy on it), never the network. Only daemon.json's `ip` key is managed.
 *
 * Config: `host`, `sshPrivateKey` (secret), `hostKey` (the server's public
 * key, to pin it), `restart` (`never` or `if-changed`, default `never`).
 *
 *     pulumi config set host 203.0.113.10
 *     pulumi config set --secret sshPrivateKey "$(cat ~/.ssh/id_ed25519)"
 *     pulumi config set hostKey "$(ssh-keyscan -t ed25519 203.0.113.10 | cut -d' ' -f2-)"
 */
import * as pulumi from "@pulumi/pulumi";
import * as dfw from "pulumi-docker-firewall";

const config = new pulumi.Config();
const restart = config.get("restart") ?? "never";
if (restart !== "never" && restart !== "if-changed") throw new Error(`config "restart" must be "never" or "if-changed", got ${JSON.stringify(restart)}`);

const daemon = new dfw.DaemonConfig("localhost-only", {
  connection: {
    host: config.require("host"),
    user: "root",
    privateKey: config.requireSecret("sshPrivateKey"),
    hostKey: config.require("hostKey"),
  },
  ip: "127.0.0.1",
  restart,
});

/** What applying it does, whether the daemon still has to be restarted, and where it publishes ports now. */
export const impact = daemon.impact;
export const restartRequired = daemon.restartRequired;
export const publishedOn = daemon.effective.publishedOn;
