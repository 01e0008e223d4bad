/**
 * Authentication (k8s.io/apiserver/pkg/authentication): X.509 client certificates signed
 * by the cluster CA (CN = user name, O = groups) and static bearer tokens from a CSV file
 * (`token,user,uid,"group1,group2"`, kube-apiserver's --token-auth-file). Every
 * authenticated user is also in `system:authenticated`.
 */
import { readFileSync } from 'node:fs';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
}

export interface TokenEntry {
  token: string;
  user: string;
  uid: string;
  groups: string[];
}

/** Splits one CSV line, honouring double quotes ("" inside quotes is a quote). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/** Parses a token file; throws with the line number on a malformed entry. */
export function parseTokenFile(text: string, path = 'token file'): Map<string, TokenEntry> {
  const out = new Map<string, TokenEntry>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const f = csvFields(line);
    if (f.length < 3 || !f[0] || !f[1]) throw new Error(`${path}: line ${i + 1}: want token,user,uid[,"group1,group2"]`);
    const groups = f[3] ? f[3].split(',').map((g) => g.trim()).filter(Boolean) : [];
    out.set(f[0], { token: f[0], user: f[1], uid: f[2] ?? '', groups });
  });
  return out;
}

export function loadTokenFile(path: string): Map<string, TokenEntry> {
  return parseTokenFile(readFileSync(path, 'utf8'), path);
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Reads a connection's client certificate (tests inject one that counts the calls). */
export type PeerCertificateReader = (socket: TLSSocket) => PeerCertificate | undefined;

export interface X509AuthenticatorOptions {
  /** Default `socket.getPeerCertificate()`. */
  readPeerCertificate?: PeerCertificateReader;
}

/**
 * Client-certificate authentication, once per connection: a connection's certificate is
 * fixed by its handshake (the server disables TLS renegotiation, and HTTP/2 forbids it),
 * so the user it names is remembered per socket (per HTTP/2 session, whose `socket` is
 * one object for the session's life) instead of parsing the certificate on every request.
 * The returned UserInfo is shared by the connection's requests and frozen.
 */
export class X509Authenticator {
  /** null: the connection has no verified certificate naming a user. */
  readonly #users = new WeakMap<TLSSocket, UserInfo | null>();
  readonly #read: PeerCertificateReader;

  constructor(opts: X509AuthenticatorOptions = {}) {
    this.#read = opts.readPeerCertificate ?? ((socket) => socket.getPeerCertificate());
  }

  /** The user named by the connection's certificate (CN, O as groups) if the cluster CA signed it. */
  authenticate(socket: TLSSocket): UserInfo | undefined {
    let user = this.#users.get(socket);
    if (user === undefined) {
      user = this.#fromCertificate(socket);
      this.#users.set(socket, user);
    }
    return user ?? undefined;
  }

  #fromCertificate(socket: TLSSocket): UserInfo | null {
    if (!socket.authorized) return null;
    const cert = this.#read(socket);
    const cn = cert?.subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (!cert || !name) return null;
    return Object.freeze({ name, groups: Object.freeze([...asList(cert.subject.O), 'system:authenticated']) as string[] });
  }
}

const defaultX509 = new X509Authenticator();

/**
 * Who sent the request, or undefined (→ 401). The certificate part is cached per
 * connection by `x509`; bearer tokens are checked on every request.
 */
export function authenticate(
  socket: TLSSocket | undefined,
  authorization: string | undefined,
  tokens: Map<string, TokenEntry>,
  x509: X509Authenticator = defaultX509,
): UserInfo | undefined {
  // x509 before tokens, as upstream's union authenticator orders them.
  if (socket) {
    const user = x509.authenticate(socket);
    if (user) return user;
  }
  if (authorization) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const entry = m ? tokens.get(m[1]!) : undefined;
    if (entry) return { name: entry.user, uid: entry.uid, groups: [...entry.groups, 'system:authenticated'] };
  }
  return undefined;
}
