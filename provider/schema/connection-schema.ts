import ipaddr from "ipaddr.js";
import { z } from "zod";
import { boundedString } from "./fields";

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|rsa-sha2-(256|512)) [A-Za-z0-9+/]+={0,2}( [^\n]*)?$/;

/**
 * The `connection` input: `@pulumi/command`'s remote connection fields plus
 * `sudo`. Unknown keys (such as `proxy`, not supported yet) are rejected
 * rather than silently ignored, and every string has a maximum length (a
 * host name's 253 characters, a socket path's 107, generous ones for keys
 * and passwords). `@pulumi/command`'s special values are accepted:
 * `dialErrorLimit: -1` (unlimited) and `perDialTimeout: 0` (no maximum);
 * `SshHost`'s `dialSettings` says what they become.
 */
export const connectionSchema = z
  .object({
    host: boundedString(253, "host").refine((h) => HOSTNAME.test(h) || ipaddr.isValid(h), { message: "host must be a host name or an IP address" }),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, "user must be a plain user name").optional(),
    password: boundedString(1024, "password").min(1).optional(),
    privateKey: boundedString(16384, "privateKey").regex(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/, "privateKey must be a PEM or OpenSSH private key").optional(),
    privateKeyPassword: boundedString(1024, "privateKeyPassword").optional(),
    agentSocketPath: boundedString(107, "agentSocketPath").regex(/^\/[A-Za-z0-9._/-]+$/, "agentSocketPath must be an absolute path").optional(),
    hostKey: boundedString(8192, "hostKey").regex(HOST_KEY, 'hostKey must be a public key line like "ssh-ed25519 AAAA…"').optional(),
    dialErrorLimit: z
      .number()
      .int()
      .refine((n) => n === -1 || (n >= 1 && n <= 100), { message: "dialErrorLimit must be -1 (unlimited) or 1 to 100" })
      .optional(),
    perDialTimeout: z
      .number()
      .int()
      .refine((n) => n >= 0 && n <= 600, { message: "perDialTimeout must be 0 (no maximum) or 1 to 600 seconds" })
      .optional(),
    sudo: z.boolean().optional(),
    proxy: z.never({ error: "proxy (jump host) connections are not supported yet; connect to the host directly" }).optional(),
  })
  .strict();
