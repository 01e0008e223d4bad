/**
 * The API server's certificates, made once at first start like `kubeadm init phase certs`:
 *
 *   DIR/pki/ca.crt, ca.key                 the cluster CA ("kubernetes")
 *   DIR/pki/apiserver.crt, apiserver.key   serving cert (SANs: kubernetes.default…, IPs)
 *   DIR/pki/admin.crt, admin.key           client cert CN=kubernetes-admin, O=system:masters
 *   DIR/pki/apiserver-kubelet-client.*     what the API server shows kubelets (logs, exec)
 *   DIR/admin.conf                         kubeconfig with all three embedded (base64)
 *
 * Existing files are reused on restart, so kubeconfigs handed out stay valid. A serving
 * cert whose SANs no longer cover the requested names/IPs is re-issued from the same CA.
 */
import { webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;
const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

/** Cluster names in the kubeconfig, as kubeadm writes them (cluster "kubernetes" renamed). */
export const KUBECONFIG_CLUSTER = 'flotilla';
export const KUBECONFIG_USER = 'kubernetes-admin';
export const KUBECONFIG_CONTEXT = `${KUBECONFIG_USER}@${KUBECONFIG_CLUSTER}`;

/** The ClusterIP of the `kubernetes` Service (first address of the default service CIDR). */
export const DEFAULT_SERVICE_IP = '10.96.0.1';

export interface PKI {
  caCertPem: string;
  /** Serving cert and key (PEM). */
  certPem: string;
  keyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  /** What the API server presents to kubelets (CN kube-apiserver-kubelet-client, as kubeadm). */
  kubeletClientCertPem: string;
  kubeletClientKeyPem: string;
  dir: string;
}

export interface EnsurePKIOptions {
  dataDir: string;
  /** Extra SAN IPs/DNS names (the advertise/bind address, …). */
  extraSANs?: string[];
  now?: number;
}

function randomSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f;
  return Buffer.from(b).toString('hex');
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

async function pemToKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), alg, true, ['sign']);
}

const isIP = (s: string) => /^\d+\.\d+\.\d+\.\d+$/.test(s) || s.includes(':');

/** The node's own addresses (every non-internal interface) plus loopback. */
function nodeIPs(): string[] {
  const out = new Set<string>(['127.0.0.1']);
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4') out.add(a.address);
  }
  return [...out];
}

/** Every name the serving cert must cover. */
export function servingSANs(extra: string[] = []): string[] {
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'];
  return [...new Set([...names, ...nodeIPs(), DEFAULT_SERVICE_IP, ...extra.filter(Boolean)])];
}

function certCovers(pem: string, sans: string[]): boolean {
  const cert = new x509.X509Certificate(pem);
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!ext) return false;
  const have = new Set(ext.names.items.map((n) => n.value));
  return sans.every((s) => have.has(s)) && cert.notAfter.getTime() > Date.now();
}

async function writePair(dir: string, base: string, certPem: string, keyPem: string): Promise<void> {
  await writeFile(join(dir, `${base}.crt`), certPem, { mode: 0o644 });
  await writeFile(join(dir, `${base}.key`), keyPem, { mode: 0o600 });
}

async function issue(opts: {
  ca: { cert: x509.X509Certificate; key: CryptoKey };
  subject: string;
  serverSANs?: string[];
  client?: boolean;
  now: number;
}): Promise<{ certPem: string; keyPem: string }> {
  const keys = await newKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([opts.client ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(opts.ca.cert.publicKey),
  ];
  if (opts.serverSANs) {
    extensions.push(new x509.SubjectAlternativeNameExtension(opts.serverSANs.map((v) => ({ type: isIP(v) ? 'ip' : 'dns', value: v }))));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: opts.subject,
    issuer: opts.ca.cert.subject,
    notBefore: new Date(opts.now - 5 * 60 * 1000),
    notAfter: new Date(opts.now + ONE_YEAR_MS),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: opts.ca.key,
    extensions,
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await keyToPem(keys.privateKey) };
}

/** Creates (or loads) the CA, serving and admin certificates under dataDir/pki. */
export async function ensurePKI(opts: EnsurePKIOptions): Promise<PKI> {
  const now = opts.now ?? Date.now();
  const dir = join(opts.dataDir, 'pki');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => join(dir, f);

  let caCertPem: string;
  let caKey: CryptoKey;
  if (existsSync(p('ca.crt')) && existsSync(p('ca.key'))) {
    caCertPem = await readFile(p('ca.crt'), 'utf8');
    caKey = await pemToKey(await readFile(p('ca.key'), 'utf8'));
  } else {
    const keys = await newKeys();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: 'CN=kubernetes',
      notBefore: new Date(now - 5 * 60 * 1000),
      notAfter: new Date(now + TEN_YEARS_MS),
      signingAlgorithm: alg,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caCertPem = cert.toString('pem') + '\n';
    caKey = keys.privateKey;
    await writePair(dir, 'ca', caCertPem, await keyToPem(caKey));
  }
  const ca = { cert: new x509.X509Certificate(caCertPem), key: caKey };

  const sans = servingSANs(opts.extraSANs);
  let serving: { certPem: string; keyPem: string };
  if (existsSync(p('apiserver.crt')) && existsSync(p('apiserver.key')) && certCovers(await readFile(p('apiserver.crt'), 'utf8'), sans)) {
    serving = { certPem: await readFile(p('apiserver.crt'), 'utf8'), keyPem: await readFile(p('apiserver.key'), 'utf8') };
  } else {
    serving = await issue({ ca, subject: 'CN=kube-apiserver', serverSANs: sans, now });
    await writePair(dir, 'apiserver', serving.certPem, serving.keyPem);
  }

  let admin: { certPem: string; keyPem: string };
  if (existsSync(p('admin.crt')) && existsSync(p('admin.key'))) {
    admin = { certPem: await readFile(p('admin.crt'), 'utf8'), keyPem: await readFile(p('admin.key'), 'utf8') };
  } else {
    admin = await issue({ ca, subject: 'O=system:masters, CN=kubernetes-admin', client: true, now });
    await writePair(dir, 'admin', admin.certPem, admin.keyPem);
  }
  let kubeletClient: { certPem: string; keyPem: string };
  if (existsSync(p('apiserver-kubelet-client.crt')) && existsSync(p('apiserver-kubelet-client.key'))) {
    kubeletClient = { certPem: await readFile(p('apiserver-kubelet-client.crt'), 'utf8'), keyPem: await readFile(p('apiserver-kubelet-client.key'), 'utf8') };
  } else {
    kubeletClient = await issue({ ca, subject: 'O=kubeadm:cluster-admins, CN=kube-apiserver-kubelet-client', client: true, now });
    await writePair(dir, 'apiserver-kubelet-client', kubeletClient.certPem, kubeletClient.keyPem);
  }
  return {
    caCertPem,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    kubeletClientCertPem: kubeletClient.certPem,
    kubeletClientKeyPem: kubeletClient.keyPem,
    dir,
  };
}

/** A kubeconfig (YAML) with the CA and the admin client certificate embedded, like kubeadm's admin.conf. */
export function adminKubeconfig(pki: PKI, server: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(pki.caCertPem)}`,
    `    server: ${server}`,
    `  name: ${KUBECONFIG_CLUSTER}`,
    'contexts:',
    '- context:',
    `    cluster: ${KUBECONFIG_CLUSTER}`,
    `    user: ${KUBECONFIG_USER}`,
    `  name: ${KUBECONFIG_CONTEXT}`,
    `current-context: ${KUBECONFIG_CONTEXT}`,
    'kind: Config',
    'preferences: {}',
    'users:',
    `- name: ${KUBECONFIG_USER}`,
    '  user:',
    `    client-certificate-data: ${b64(pki.adminCertPem)}`,
    `    client-key-data: ${b64(pki.adminKeyPem)}`,
    '',
  ].join('\n');
}

/** Writes DIR/admin.conf (mode 0600). */
export async function writeAdminKubeconfig(dataDir: string, pki: PKI, server: string): Promise<string> {
  const path = join(dataDir, 'admin.conf');
  await writeFile(path, adminKubeconfig(pki, server), { mode: 0o600 });
  return path;
}
