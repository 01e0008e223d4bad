/**
 * Self-signed serving certificates, as the kubelet makes for itself when no
 * --tls-cert-file is given (upstream's `<hostname>-ca@<unix time>` issuer signing
 * `<hostname>@<unix time>`; here one self-signed certificate carries the SANs directly).
 */
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

export interface SelfSignedCertOptions {
  /** Subject CN (the kubelet uses `<hostname>@<unix seconds>`). */
  commonName: string;
  /** DNS names and IP addresses the certificate is valid for. */
  sans: string[];
  /** Validity start (ms since the epoch); defaults to now. */
  notBefore?: number;
  /** Validity (ms, default one year). */
  validityMs?: number;
}

/** A certificate and its private key, both PEM. */
export interface CertKeyPair {
  cert: string;
  key: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Generates an ECDSA P-256 key and a self-signed serving certificate for it. */
export async function selfSignedServingCert(opts: SelfSignedCertOptions): Promise<CertKeyPair> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serial = webcrypto.getRandomValues(new Uint8Array(16));
  serial[0] = serial[0]! & 0x7f;
  const notBefore = new Date(opts.notBefore ?? Date.now());
  const notAfter = new Date(notBefore.getTime() + (opts.validityMs ?? ONE_YEAR_MS));
  const names = [...new Set(opts.sans)].map((s) => (isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s }));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(serial).toString('hex'),
    name: `CN=${opts.commonName.replace(/[,=+<>#;\\"]/g, '')}`,
    notBefore,
    notAfter,
    keys: keys as never,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  const key = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem') + '\n', key };
}
