/**
 * Bound ServiceAccount tokens (upstream pkg/serviceaccount + the serviceaccounts/token
 * subresource): JWTs signed with the cluster's service-account key (DIR/pki/sa.key, ES256),
 * issued by TokenRequest and accepted as bearer tokens while the ServiceAccount (and the
 * pod they are bound to, if any) still exists with the same uid.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserInfo } from './auth.js';

/** The issuer kube-apiserver uses by default in kubeadm clusters. */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti?: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    node?: { name: string; uid: string };
  };
}

/** Loads DIR/pki/sa.key, creating it (and sa.pub) at first start as kubeadm does. */
export function loadServiceAccountKey(pkiDir: string): { privateKey: KeyObject; publicKey: KeyObject } {
  const keyPath = join(pkiDir, 'sa.key');
  if (!existsSync(keyPath)) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(pkiDir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  }
  const privateKey = createPrivateKey(readFileSync(keyPath));
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

export class ServiceAccountTokens {
  readonly #priv: KeyObject;
  readonly #pub: KeyObject;
  readonly issuer: string;

  constructor(opts: { privateKey: KeyObject; publicKey: KeyObject; issuer?: string }) {
    this.#priv = opts.privateKey;
    this.#pub = opts.publicKey;
    this.issuer = opts.issuer ?? DEFAULT_ISSUER;
  }

  issue(claims: Omit<TokenClaims, 'iss'>): string {
    const header = b64url(JSON.stringify({ alg: 'ES256', kid: '' }));
    const payload = b64url(JSON.stringify({ ...claims, iss: this.issuer }));
    const sig = sign('sha256', Buffer.from(`${header}.${payload}`), { key: this.#priv, dsaEncoding: 'ieee-p1363' });
    return `${header}.${payload}.${b64url(sig)}`;
  }

  /** The claims of a token this server signed and that has not expired, or undefined. */
  verify(token: string, nowSeconds: number): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [h, p, s] = parts as [string, string, string];
    let ok = false;
    try {
      ok = verify('sha256', Buffer.from(`${h}.${p}`), { key: this.#pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
    } catch {
      return undefined;
    }
    if (!ok) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
    if (claims.iss !== this.issuer || !(claims.exp > nowSeconds) || !claims['kubernetes.io']?.serviceaccount) return undefined;
    return claims;
  }
}

/** The user a service-account token stands for. */
export function serviceAccountUser(claims: TokenClaims): UserInfo {
  const k = claims['kubernetes.io'];
  return {
    name: `system:serviceaccount:${k.namespace}:${k.serviceaccount.name}`,
    uid: k.serviceaccount.uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
  };
}
