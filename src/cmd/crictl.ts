/**
 * `flotilla crictl`: the node-level debugging tool of kubernetes-sigs/cri-tools (Debian
 * ships none), speaking the CRI to a runtime socket with crictl's own flags and output:
 * `pods`, `ps`, `images`, `pull`, `logs`, `exec`, `inspect`, `inspectp`, `inspecti`,
 * `info`, `version`.
 *
 * The endpoint is `--runtime-endpoint`/`-r` (or $CONTAINER_RUNTIME_ENDPOINT), else the
 * containerd that `flotilla up --data-dir DIR` runs (`--data-dir`, default as `up`'s).
 * Global flags come before the subcommand, as with crictl: `flotilla crictl -r unix:///x ps -a`.
 *
 * Departures, all deliberate: `exec` without -i/-t runs the command with ExecSync (crictl
 * streams it) and exits with its exit code; -i/-t stream through the runtime's Exec
 * (CriRuntime.exec). `logs` reads the CRI log file itself (ContainerStatus.log_path), as
 * crictl does. JSON output covers the CRI fields Flotilla's api.proto declares, so fields of
 * newer CRI versions that crictl would print as defaults are absent.
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { credentials, loadPackageDefinition, status as grpcStatus, type Client as GrpcClient, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type MessageTypeDefinition, type PackageDefinition } from '@grpc/proto-loader';
import { stringify as toYAML } from 'yaml';
import type { Command } from './command.js';
import {
  containerStateName,
  createdAgo,
  podStateName,
  protojsonValue,
  repoDigest,
  repoTagPairs,
  rfc3339NanoFromNs,
  statusDataJSON,
  table,
  truncatedID,
} from './crictl-format.js';
import { humanSize } from './images.js';
import { containerdDirOf, containerdSocket } from '../kubelet/containerd/index.js';

/** The `version` crictl reports for itself (the CRI API it speaks). */
export const CRICTL_VERSION = '0.1.0';


type Values = Record<string, string | boolean | string[] | undefined>;
type Spec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }>;

// ---------------------------------------------------------------------------------------
// The CRI connection.

const protoPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'kubelet', 'cri', 'api.proto');
type Call = (req: unknown, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;

const codeNames: Record<number, string> = Object.fromEntries(Object.entries(grpcStatus).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k.split('_').map((w) => w[0] + w.slice(1).toLowerCase()).join('')]));

/** A gRPC failure worded as Go's status.Error prints it. */
function rpcError(err: ServiceError): Error {
  const code = codeNames[err.code] ?? String(err.code);
  return new Error(`rpc error: code = ${code.replace(/^Ok$/, 'OK')} desc = ${err.details || err.message}`);
}

/** The endpoint as a socket path, or an error saying what is missing. */
export function socketPath(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint.slice('unix://'.length);
  if (endpoint.includes('://')) throw new Error(`unsupported endpoint ${JSON.stringify(endpoint)}: only unix:// sockets are supported`);
  return endpoint;
}

class Cri {
  readonly #runtime: GrpcClient;
  readonly #images: GrpcClient;
  readonly #timeoutMs: number;
  readonly #debug: boolean;
  readonly #def: PackageDefinition;

  constructor(runtimeEndpoint: string, imageEndpoint: string, timeoutMs: number, debug: boolean) {
    const def = loadSync(protoPath, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
    this.#def = def;
    const pkg = (loadPackageDefinition(def).runtime as GrpcObject).v1 as GrpcObject;
    const opts = { 'grpc.max_receive_message_length': 16 << 20 };
    this.#runtime = new (pkg.RuntimeService as ServiceClientConstructor)(`unix://${socketPath(runtimeEndpoint)}`, credentials.createInsecure(), opts);
    this.#images = new (pkg.ImageService as ServiceClientConstructor)(`unix://${socketPath(imageEndpoint)}`, credentials.createInsecure(), opts);
    this.#timeoutMs = timeoutMs;
    this.#debug = debug;
  }

  close(): void {
    this.#runtime.close();
    this.#images.close();
  }

  /**
   * A decoded message of type `typeName` as protojson (EmitDefaultValues) prints it: fields
   * in declaration order, unset sub-messages left out, map keys sorted, bytes in base64.
   */
  protojson(typeName: string, obj: unknown): unknown {
    const t = (this.#def[`runtime.v1.${typeName.replace(/^\.?runtime\.v1\./, '')}`] as MessageTypeDefinition<object, object> | undefined)?.type as
      | { field: Array<{ name: string; type: string; typeName: string; label: string }>; nestedType: Array<{ name: string; options?: { mapEntry?: boolean } | null }> }
      | undefined;
    if (!t || obj === null || typeof obj !== 'object') return protojsonValue(obj);
    const maps = new Set(t.nestedType.filter((n) => n.options?.mapEntry).map((n) => n.name));
    const o = obj as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const f of t.field) {
      const val = o[f.name];
      if (val === null || val === undefined) continue;
      if (f.type === 'TYPE_MESSAGE' && maps.has(f.typeName)) {
        const m = val as Record<string, unknown>;
        out[f.name] = Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]]));
      } else if (f.type === 'TYPE_MESSAGE') {
        out[f.name] = Array.isArray(val) ? val.map((x) => this.protojson(f.typeName, x)) : this.protojson(f.typeName, val);
      } else {
        out[f.name] = protojsonValue(val);
      }
    }
    return out;
  }

  #call<T>(client: GrpcClient, method: string, req: unknown, timeoutMs: number): Promise<T> {
    if (this.#debug) process.stderr.write(`DEBU ${method}Request: ${JSON.stringify(req)}\n`);
    const fn = (client as unknown as Record<string, Call>)[method]!.bind(client);
    return new Promise((resolveCall, reject) => {
      fn(req, { deadline: timeoutMs > 0 ? Date.now() + timeoutMs : Infinity }, (err, res) => {
        if (this.#debug) process.stderr.write(`DEBU ${method}Response: ${err ? err.message : JSON.stringify(res)}\n`);
        if (err) reject(rpcError(err));
        else resolveCall(res as T);
      });
    });
  }

  runtime<T>(method: string, req: unknown, timeoutMs = this.#timeoutMs): Promise<T> {
    return this.#call<T>(this.#runtime, method, req, timeoutMs);
  }

  image<T>(method: string, req: unknown, timeoutMs = this.#timeoutMs): Promise<T> {
    return this.#call<T>(this.#images, method, req, timeoutMs);
  }
}

// Decoded messages (camelCase, longs and enums as strings).
interface PbMeta { name: string; uid?: string; namespace?: string; attempt: number }
interface PbPodSandbox { id: string; metadata: PbMeta | null; state: string; createdAt: string; labels: Record<string, string>; annotations: Record<string, string>; runtimeHandler: string }
interface PbContainer { id: string; podSandboxId: string; metadata: PbMeta | null; image: { image: string } | null; imageRef: string; state: string; createdAt: string; labels: Record<string, string>; annotations: Record<string, string> }
interface PbImage { id: string; repoTags: string[]; repoDigests: string[]; size: string; pinned: boolean }
interface PbContainerStatus { id: string; state: string; createdAt: string; startedAt: string; finishedAt: string; logPath: string; metadata: PbMeta | null }

// ---------------------------------------------------------------------------------------
// Argument parsing.

/** Global flags end at the first word that is not a flag (the subcommand). */
function splitGlobal(argv: string[]): { global: string[]; sub: string | undefined; rest: string[] } {
  const withValue = new Set(['--runtime-endpoint', '-r', '--image-endpoint', '-i', '--timeout', '-t', '--data-dir']);
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    if (withValue.has(argv[i]!)) i++;
    i++;
  }
  return { global: argv.slice(0, i), sub: argv[i], rest: argv.slice(i + 1) };
}

function parseSub(name: string, spec: Spec, argv: string[]): { v: Values; args: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
    return { v: values as Values, args: positionals };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nRun 'flotilla crictl ${name} --help' for usage.`);
  }
}

/** Flags up to the first positional; the rest is positional (exec's COMMAND [ARG...]). */
function splitAtFirstPositional(argv: string[], spec: Spec): [string[], string[]] {
  const valued = new Set<string>();
  for (const [k, s] of Object.entries(spec)) {
    if (s.type === 'string') {
      valued.add(`--${k}`);
      if (s.short) valued.add(`-${s.short}`);
    }
  }
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--') {
    if (valued.has(argv[i]!)) i++;
    i++;
  }
  if (argv[i] === '--') return [argv.slice(0, i), argv.slice(i + 1)];
  return [argv.slice(0, i), argv.slice(i)];
}

function compileRegex(pattern: unknown): RegExp | undefined {
  if (typeof pattern !== 'string' || pattern === '') return undefined;
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new Error(`invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

function parseLabels(v: unknown): Record<string, string> | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const l of v as string[]) {
    const i = l.indexOf('=');
    if (i < 0) throw new Error(`incorrectly specified label: ${l}`);
    out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

function truncateCount(total: number, latest: boolean, last: number): number {
  let n = total;
  if (latest) n = 1;
  if (last > 0) n = last;
  return Math.min(n, total);
}

function intFlag(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`invalid value ${JSON.stringify(v)} for flag -${name}: parse error`);
  return n;
}

function durationMs(v: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  let total = 0;
  let rest = v.trim();
  if (!rest) throw new Error(`invalid duration ${JSON.stringify(v)}`);
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`invalid duration ${JSON.stringify(v)}`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

const write = (s: string) => process.stdout.write(s);

function outputFormat(v: Values, dflt: string): string {
  const o = typeof v.output === 'string' && v.output !== '' ? v.output : dflt;
  return o;
}

/** Go's yaml.JSONToYAML of a protojson/JSON value: keys sorted. */
function yamlOf(value: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x !== null && typeof x === 'object') return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])]));
    return x;
  };
  return toYAML(sort(value), { indentSeq: false });
}

// ---------------------------------------------------------------------------------------
// Subcommands.

const podsFlags: Spec = {
  id: { type: 'string' },
  name: { type: 'string' },
  namespace: { type: 'string' },
  state: { type: 'string', short: 's' },
  label: { type: 'string', multiple: true },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  output: { type: 'string', short: 'o', default: 'table' },
  latest: { type: 'boolean', short: 'l' },
  last: { type: 'string', short: 'n' },
  'no-trunc': { type: 'boolean' },
};

async function pods(cri: Cri, v: Values): Promise<number> {
  const filter: Record<string, unknown> = {};
  if (v.id) filter.id = v.id;
  if (typeof v.state === 'string' && v.state !== '') {
    const s = v.state.toLowerCase();
    if (s !== 'ready' && s !== 'notready') throw new Error('listing pod sandboxes: list pod sandboxes: --state should be ready or notready');
    filter.state = { state: s === 'ready' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY' };
  }
  const labels = parseLabels(v.label);
  if (labels) filter.labelSelector = labels;
  const r = await cri.runtime<{ items: PbPodSandbox[] }>('ListPodSandbox', { filter });
  const nameRe = compileRegex(v.name);
  const nsRe = compileRegex(v.namespace);
  let items = (r.items ?? []).filter((p) => p.metadata && (!nameRe || nameRe.test(p.metadata.name)) && (!nsRe || nsRe.test(p.metadata.namespace ?? '')));
  items.sort((a, b) => (BigInt(b.createdAt) > BigInt(a.createdAt) ? 1 : BigInt(b.createdAt) < BigInt(a.createdAt) ? -1 : 0));
  items = items.slice(0, truncateCount(items.length, v.latest === true, intFlag('last', v.last, 0)));
  const format = outputFormat(v, 'table');
  const doc = () => cri.protojson('ListPodSandboxResponse', { items });
  if (format === 'json') return write(`${JSON.stringify(doc(), null, 2)}\n`), 0;
  if (format === 'yaml') return write(`${yamlOf(doc())}\n`), 0;
  if (format !== 'table') throw new Error(`listing pod sandboxes: unsupported output format "${format}"`);
  const now = Date.now();
  if (v.quiet) {
    for (const p of items) write(`${p.id}\n`);
    return 0;
  }
  if (v.verbose) {
    for (const p of items) {
      let s = `ID: ${p.id}\n`;
      const m = p.metadata!;
      if (m.name) s += `Name: ${m.name}\n`;
      if (m.uid) s += `UID: ${m.uid}\n`;
      if (m.namespace) s += `Namespace: ${m.namespace}\n`;
      if (m.attempt) s += `Attempt: ${m.attempt}\n`;
      s += `Status: ${podStateName(p.state)}\nCreated: ${goTime(BigInt(p.createdAt))}\n`;
      s += kv('Labels', p.labels) + kv('Annotations', p.annotations);
      s += `Runtime: ${p.runtimeHandler || '(default)'}\n\n`;
      write(s);
    }
    return 0;
  }
  const rows = [['POD ID', 'CREATED', 'STATE', 'NAME', 'NAMESPACE', 'ATTEMPT', 'RUNTIME']];
  for (const p of items) {
    rows.push([v['no-trunc'] ? p.id : truncatedID(p.id), createdAgo(BigInt(p.createdAt), now), podStateName(p.state), p.metadata!.name, p.metadata!.namespace ?? '', String(p.metadata!.attempt ?? 0), p.runtimeHandler || '(default)']);
  }
  write(table(rows));
  return 0;
}

/** Go's default time.Time rendering ("2006-01-02 15:04:05.999999999 +0000 UTC"). */
function goTime(ns: bigint): string {
  const s = rfc3339NanoFromNs(ns);
  return s.replace('T', ' ').replace(/Z$/, ' +0000 UTC');
}

function kv(title: string, m: Record<string, string> | undefined): string {
  if (!m || Object.keys(m).length === 0) return '';
  return `${title}:\n${Object.keys(m).sort().map((k) => `\t${k} -> ${m[k]}\n`).join('')}`;
}

const psFlags: Spec = {
  verbose: { type: 'boolean', short: 'v' },
  id: { type: 'string' },
  name: { type: 'string' },
  pod: { type: 'string', short: 'p' },
  image: { type: 'string' },
  state: { type: 'string', short: 's' },
  label: { type: 'string', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
  output: { type: 'string', short: 'o', default: 'table' },
  all: { type: 'boolean', short: 'a' },
  latest: { type: 'boolean', short: 'l' },
  last: { type: 'string', short: 'n' },
  'no-trunc': { type: 'boolean' },
  namespace: { type: 'string' },
};

const states: Record<string, string> = { created: 'CONTAINER_CREATED', running: 'CONTAINER_RUNNING', exited: 'CONTAINER_EXITED', unknown: 'CONTAINER_UNKNOWN' };

async function listContainers(cri: Cri, v: Values): Promise<PbContainer[]> {
  const filter: Record<string, unknown> = {};
  if (v.id) filter.id = v.id;
  if (v.pod) filter.podSandboxId = v.pod;
  if (!v.all && !v.state) filter.state = { state: 'CONTAINER_RUNNING' };
  if (typeof v.state === 'string' && v.state !== '') {
    const s = states[v.state.toLowerCase()];
    if (!s) throw new Error('listing containers: --state should be one of created, running, exited or unknown');
    filter.state = { state: s };
  }
  const last = intFlag('last', v.last, 0);
  if (v.latest || last > 0) delete filter.state;
  const labels = parseLabels(v.label);
  if (labels) filter.labelSelector = labels;
  const r = await cri.runtime<{ containers: PbContainer[] }>('ListContainers', { filter });
  const nameRe = compileRegex(v.name);
  const nsRe = compileRegex(v.namespace);
  const image = typeof v.image === 'string' ? v.image : '';
  let out = (r.containers ?? []).filter((c) => {
    if (!c.metadata) return false;
    if (image && c.image?.image !== image && !c.imageRef.includes(image) && !(c.image?.image ?? '').startsWith(image)) return false;
    return (!nameRe || nameRe.test(c.metadata.name)) && (!nsRe || nsRe.test(c.labels['io.kubernetes.pod.namespace'] ?? 'unknown'));
  });
  out.sort((a, b) => (BigInt(b.createdAt) > BigInt(a.createdAt) ? 1 : BigInt(b.createdAt) < BigInt(a.createdAt) ? -1 : 0));
  out = out.slice(0, truncateCount(out.length, v.latest === true, last));
  return out;
}

async function ps(cri: Cri, v: Values): Promise<number> {
  const list = await listContainers(cri, v);
  const format = outputFormat(v, 'table');
  const doc = () => cri.protojson('ListContainersResponse', { containers: list });
  if (format === 'json') return write(`${JSON.stringify(doc(), null, 2)}\n`), 0;
  if (format === 'yaml') return write(`${yamlOf(doc())}\n`), 0;
  if (format !== 'table') throw new Error(`listing containers: unsupported output format "${format}"`);
  if (v.quiet) {
    for (const c of list) write(`${c.id}\n`);
    return 0;
  }
  const now = Date.now();
  if (v.verbose) {
    for (const c of list) {
      let s = `ID: ${c.id}\nPodID: ${c.podSandboxId}\nNamespace: ${c.labels['io.kubernetes.pod.namespace'] ?? 'unknown'}\n`;
      if (c.metadata!.name) s += `Name: ${c.metadata!.name}\n`;
      s += `Attempt: ${c.metadata!.attempt}\nState: ${containerStateName(c.state)}\n`;
      if (c.image) s += `Image: ${c.image.image}\n`;
      s += `Created: ${createdAgo(BigInt(c.createdAt), now)}\n`;
      s += kv('Labels', c.labels) + kv('Annotations', c.annotations) + '\n';
      write(s);
    }
    return 0;
  }
  const rows = [['CONTAINER', 'IMAGE', 'CREATED', 'STATE', 'NAME', 'ATTEMPT', 'POD ID', 'POD', 'NAMESPACE']];
  for (const c of list) {
    let id = c.id;
    let pod = c.podSandboxId;
    let image = c.image?.image ?? '';
    if (!v['no-trunc']) {
      id = truncatedID(id);
      pod = truncatedID(pod);
      // The kubelet passes the image ID: shown as a digest, truncated.
      const d = /^([a-z0-9]+):([0-9a-f]{32,})$/.exec(image);
      if (d) image = truncatedID(image, `${d[1]}:`);
    }
    rows.push([id, image, createdAgo(BigInt(c.createdAt), now), containerStateName(c.state), c.metadata!.name, String(c.metadata!.attempt ?? 0), pod, c.labels['io.kubernetes.pod.name'] ?? 'unknown', c.labels['io.kubernetes.pod.namespace'] ?? 'unknown']);
  }
  write(table(rows));
  return 0;
}

const imagesFlags: Spec = {
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  output: { type: 'string', short: 'o' },
  digests: { type: 'boolean' },
  'no-trunc': { type: 'boolean' },
  pinned: { type: 'boolean' },
};

async function images(cri: Cri, v: Values, args: string[]): Promise<number> {
  const r = await cri.image<{ images: PbImage[] }>('ListImages', { filter: { image: { image: args[0] ?? '' } } });
  const list = r.images ?? [];
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  list.sort((a, b) => {
    if (a.repoTags.length > 0 && b.repoTags.length > 0) return cmp(a.repoTags[0]!, b.repoTags[0]!);
    if (a.repoDigests.length > 0 && b.repoDigests.length > 0) return cmp(a.repoDigests[0]!, b.repoDigests[0]!);
    return cmp(a.id, b.id);
  });
  const format = outputFormat(v, '');
  const doc = () => cri.protojson('ListImagesResponse', { images: list });
  if (format === 'json') return write(`${JSON.stringify(doc(), null, 2)}\n`), 0;
  if (format === 'yaml') return write(`${yamlOf(doc())}\n`), 0;
  if (v.quiet) {
    for (const i of list) write(`${i.id}\n`);
    return 0;
  }
  if (v.verbose) {
    for (const i of list) {
      let s = `ID: ${i.id}\n`;
      for (const t of i.repoTags) s += `RepoTags: ${t}\n`;
      for (const d of i.repoDigests) s += `RepoDigests: ${d}\n`;
      if (i.size !== '0') s += `Size: ${i.size}\n`;
      if (i.pinned) s += `Pinned: ${i.pinned}\n`;
      write(`${s}\n`);
    }
    return 0;
  }
  const header = ['IMAGE', 'TAG', ...(v.digests ? ['DIGEST'] : []), 'IMAGE ID', 'SIZE', ...(v.pinned ? ['PINNED'] : [])];
  const rows = [header];
  for (const i of list) {
    const [name, digest] = repoDigest(i.repoDigests);
    const id = v['no-trunc'] ? i.id : truncatedID(i.id, 'sha256:');
    const dg = v['no-trunc'] ? digest : truncatedID(digest, 'sha256:');
    for (const [repo, tag] of repoTagPairs(i.repoTags, name)) {
      rows.push([repo, tag, ...(v.digests ? [dg] : []), id, humanSize(Number(i.size)), ...(v.pinned ? [String(i.pinned)] : [])]);
    }
  }
  write(table(rows));
  return 0;
}

async function pull(cri: Cri, args: string[]): Promise<number> {
  if (args.length === 0) throw new Error("image name cannot be empty\nRun 'flotilla crictl pull --help' for usage.");
  const r = await cri.image<{ imageRef: string }>('PullImage', { image: { image: args[0] } }, 0);
  write(`Image is up to date for ${r.imageRef}\n`);
  return 0;
}

const inspectFlags: Spec = {
  output: { type: 'string', short: 'o' },
  quiet: { type: 'boolean', short: 'q' },
};

/** util.go resourceStatus for json/yaml: one JSON document for all ids. */
function printStatuses(format: string, items: Array<{ status: unknown; info?: Record<string, string> }>): void {
  if (items.length === 0) return;
  const json = statusDataJSON(items);
  if (format === 'yaml') write(`${yamlOf(JSON.parse(json))}\n`);
  else write(`${json}\n`);
}

async function inspect(cri: Cri, v: Values, ids: string[]): Promise<number> {
  if (ids.length === 0) throw new Error('ID cannot be empty');
  const format = outputFormat(v, 'json');
  if (format !== 'json' && format !== 'yaml') throw new Error(`unsupported format: "${format}"`);
  const out = [];
  for (const id of ids) {
    let r: { status: PbContainerStatus & Record<string, unknown>; info: Record<string, string> };
    try {
      r = await cri.runtime('ContainerStatus', { containerId: id, verbose: !v.quiet });
    } catch (err) {
      throw new Error(`getting the status of the container "${id}": ${(err as Error).message}`);
    }
    const s = r.status;
    const status = cri.protojson('ContainerStatus', s) as Record<string, unknown>;
    status.createdAt = rfc3339NanoFromNs(BigInt(s.createdAt));
    status.startedAt = s.state !== 'CONTAINER_CREATED' ? rfc3339NanoFromNs(BigInt(s.startedAt)) : '0001-01-01T00:00:00Z';
    status.finishedAt = s.state === 'CONTAINER_EXITED' || (s.state === 'CONTAINER_UNKNOWN' && BigInt(s.finishedAt) > 0n) ? rfc3339NanoFromNs(BigInt(s.finishedAt)) : '0001-01-01T00:00:00Z';
    out.push({ status, info: r.info });
  }
  printStatuses(format, out);
  return 0;
}

async function inspectp(cri: Cri, v: Values, ids: string[]): Promise<number> {
  if (ids.length === 0) throw new Error('ID cannot be empty');
  const format = outputFormat(v, 'json');
  if (format !== 'json' && format !== 'yaml') throw new Error(`unsupported format: "${format}"`);
  const out = [];
  for (const id of ids) {
    let r: { status: { createdAt: string } & Record<string, unknown>; info: Record<string, string> };
    try {
      r = await cri.runtime('PodSandboxStatus', { podSandboxId: id, verbose: !v.quiet });
    } catch (err) {
      throw new Error(`get pod sandbox status: ${(err as Error).message}`);
    }
    const status = cri.protojson('PodSandboxStatus', r.status) as Record<string, unknown>;
    status.createdAt = rfc3339NanoFromNs(BigInt(r.status.createdAt));
    out.push({ status, info: r.info });
  }
  printStatuses(format, out);
  return 0;
}

async function inspecti(cri: Cri, v: Values, ids: string[]): Promise<number> {
  if (ids.length === 0) throw new Error('ID cannot be empty');
  const format = outputFormat(v, 'json');
  if (format !== 'json' && format !== 'yaml') throw new Error(`unsupported format: "${format}"`);
  const out = [];
  for (const id of ids) {
    const r = await cri.image<{ image: PbImage | null; info: Record<string, string> }>('ImageStatus', { image: { image: id }, verbose: !v.quiet });
    if (!r.image) throw new Error(`no such image "${id}" present`);
    out.push({ status: cri.protojson('Image', r.image), info: r.info });
  }
  printStatuses(format, out);
  return 0;
}

async function info(cri: Cri, v: Values): Promise<number> {
  const format = outputFormat(v, 'json');
  if (format !== 'json' && format !== 'yaml') throw new Error(`unsupported format: "${format}"`);
  const r = await cri.runtime<{ status: unknown; info: Record<string, string> }>('Status', { verbose: !v.quiet });
  printStatuses(format, [{ status: cri.protojson('RuntimeStatus', r.status), info: r.info }]);
  return 0;
}

async function version(cri: Cri): Promise<number> {
  const r = await cri.runtime<{ version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>('Version', { version: 'v1' });
  write(`Version:  ${r.version}\nRuntimeName:  ${r.runtimeName}\nRuntimeVersion:  ${r.runtimeVersion}\nRuntimeApiVersion:  ${r.runtimeApiVersion}\n`);
  return 0;
}

// ---- logs ----

const logsFlags: Spec = {
  follow: { type: 'boolean', short: 'f' },
  previous: { type: 'boolean', short: 'p' },
  tail: { type: 'string', default: '-1' },
  'limit-bytes': { type: 'string', default: '-1' },
  since: { type: 'string' },
  timestamps: { type: 'boolean', short: 't' },
  stream: { type: 'string', short: 's' },
};

/** One CRI log line ("<RFC3339Nano> <stdout|stderr> <F|P> <text>"), or undefined if malformed. */
export function parseLogLine(line: string): { time: string; ms: number; stream: 'stdout' | 'stderr'; partial: boolean; text: string } | undefined {
  const m = /^(\S+) (stdout|stderr) ([^ ]+)(?: (.*))?$/s.exec(line);
  if (!m) return undefined;
  const ms = Date.parse(m[1]!);
  if (Number.isNaN(ms)) return undefined;
  return { time: m[1]!, ms, stream: m[2] as 'stdout' | 'stderr', partial: m[3]!.split(':')[0] === 'P', text: m[4] ?? '' };
}

async function logs(cri: Cri, v: Values, args: string[]): Promise<number> {
  const id = args[0];
  if (!id) throw new Error('ID cannot be empty');
  const tail = intFlag('tail', v.tail, -1);
  let limit = intFlag('limit-bytes', v['limit-bytes'], -1);
  const streamOnly = typeof v.stream === 'string' && v.stream !== '' ? v.stream : undefined;
  if (streamOnly && streamOnly !== 'stdout' && streamOnly !== 'stderr') throw new Error(`invalid stream ${JSON.stringify(streamOnly)}: want stdout or stderr`);
  let sinceMs: number | undefined;
  if (typeof v.since === 'string' && v.since !== '') {
    const abs = Date.parse(v.since.includes('T') && !/[zZ]|[+-]\d\d:\d\d$/.test(v.since) ? `${v.since}Z` : v.since);
    sinceMs = Number.isNaN(abs) ? Date.now() - durationMs(v.since) : abs;
  }
  const statusOf = async () => (await cri.runtime<{ status: PbContainerStatus }>('ContainerStatus', { containerId: id, verbose: false })).status;
  let st: PbContainerStatus;
  try {
    st = await statusOf();
  } catch (err) {
    throw new Error(`failed to get container status: ${(err as Error).message}`);
  }
  let path = st.logPath;
  if (!path) throw new Error(`the container ${JSON.stringify(id)} has not set log path`);
  if (v.previous) {
    const m = /^(.*\/)(\d+)\.log$/.exec(path);
    if (!m || Number(m[2]) === 0) throw new Error(`no previous instance of container ${JSON.stringify(id)}`);
    path = `${m[1]}${Number(m[2]) - 1}.log`;
  }
  const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`failed to open log file ${JSON.stringify(path)}: ${err.message}`);
  });
  try {
    const all = (await fh.readFile()).toString('utf8');
    let lines = all.split('\n');
    const trailing = lines.pop() ?? '';
    if (tail >= 0) lines = lines.slice(Math.max(0, lines.length - tail));
    let pending = trailing;
    let pos = Buffer.byteLength(all);
    const newLine = { stdout: true, stderr: true };
    const emit = (line: string): boolean => {
      const l = parseLogLine(line);
      if (!l) return true;
      const starts = newLine[l.stream];
      newLine[l.stream] = !l.partial;
      if (sinceMs !== undefined && l.ms < sinceMs) return true;
      if (streamOnly && l.stream !== streamOnly) return true;
      let out = (v.timestamps && starts ? `${l.time} ` : '') + l.text + (l.partial ? '' : '\n');
      if (limit >= 0) {
        const b = Buffer.from(out);
        if (b.length >= limit) out = b.subarray(0, limit).toString();
        limit -= Math.min(limit, b.length);
      }
      (l.stream === 'stdout' ? process.stdout : process.stderr).write(out);
      return limit !== 0;
    };
    for (const l of lines) if (!emit(l)) return 0;
    if (!v.follow) return 0;
    // Follow: read what is appended until the container has exited and the file is drained.
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const buf = Buffer.alloc(64 * 1024);
      let got = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        got += bytesRead;
        const parts = (pending + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
        pending = parts.pop() ?? '';
        for (const p of parts) if (!emit(p)) return 0;
      }
      if (got === 0) {
        let running = false;
        try {
          running = (await statusOf()).state === 'CONTAINER_RUNNING';
        } catch {
          running = false;
        }
        if (!running) return 0;
      }
    }
  } finally {
    await fh.close();
  }
}

// ---- exec ----

const execFlags: Spec = {
  sync: { type: 'boolean', short: 's' },
  timeout: { type: 'string', default: '0' },
  tty: { type: 'boolean', short: 't' },
  interactive: { type: 'boolean', short: 'i' },
};

async function exec(cri: Cri, endpoint: string, v: Values, args: string[]): Promise<number> {
  if (args.length < 2) throw new Error("exec needs a container ID and a command\nUsage: flotilla crictl exec [-i] [-t] [-s] [--timeout N] CONTAINER-ID COMMAND [ARG...]\nRun 'flotilla crictl exec --help' for usage.");
  const [id, ...cmd] = args as [string, ...string[]];
  const timeout = intFlag('timeout', v.timeout, 0);
  if (!v.interactive && !v.tty) {
    let r: { stdout: Buffer; stderr: Buffer; exitCode: number };
    try {
      r = await cri.runtime('ExecSync', { containerId: id, cmd, timeout: String(timeout) }, timeout > 0 ? (timeout + 10) * 1000 : 0);
    } catch (err) {
      throw new Error(`execing command in container ${id} synchronously: ${(err as Error).message}`);
    }
    process.stdout.write(r.stdout ?? Buffer.alloc(0));
    process.stderr.write(r.stderr ?? Buffer.alloc(0));
    return r.exitCode;
  }
  // Interactive: the runtime's Exec stream (CriRuntime.exec bridges the stream server).
  const { CriRuntime } = await import('../kubelet/cri/runtime.js');
  const rt = new CriRuntime({ endpoint });
  const tty = v.tty === true;
  const stdin = v.interactive === true;
  try {
    const session = await rt.exec(id, cmd, { stdin, stdout: true, stderr: !tty, tty }).catch((err: Error) => {
      throw new Error(`execing command in container ${id}: ${err.message}`);
    });
    const raw = tty && stdin && process.stdin.isTTY;
    if (raw) process.stdin.setRawMode(true);
    const resize = () => session.resize(process.stdout.columns ?? 80, process.stdout.rows ?? 24);
    if (tty && process.stdout.isTTY) {
      resize();
      process.stdout.on('resize', resize);
    }
    session.stdout?.pipe(process.stdout, { end: false });
    session.stderr?.pipe(process.stderr, { end: false });
    if (stdin && session.stdin) process.stdin.pipe(session.stdin);
    try {
      const done = await session.done;
      if (done.message && done.exitCode === undefined) process.stderr.write(`${done.message}\n`);
      return done.exitCode ?? 0;
    } finally {
      if (raw) process.stdin.setRawMode(false);
      process.stdout.off('resize', resize);
      process.stdin.unpipe();
      process.stdin.pause();
      session.close();
    }
  } finally {
    rt.close();
  }
}

// ---------------------------------------------------------------------------------------

const subcommands: Record<string, { spec: Spec; help: string }> = {
  pods: { spec: podsFlags, help: 'List pods' },
  ps: { spec: psFlags, help: 'List containers' },
  images: { spec: imagesFlags, help: 'List images' },
  pull: { spec: {}, help: 'Pull an image from a registry' },
  logs: { spec: logsFlags, help: 'Fetch the logs of a container' },
  exec: { spec: execFlags, help: 'Run a command in a running container' },
  inspect: { spec: inspectFlags, help: 'Display the status of one or more containers' },
  inspectp: { spec: inspectFlags, help: 'Display the status of one or more pods' },
  inspecti: { spec: inspectFlags, help: 'Return the status of one or more images' },
  info: { spec: { output: { type: 'string', short: 'o' }, quiet: { type: 'boolean', short: 'q' } }, help: 'Display information of the container runtime' },
  version: { spec: {}, help: 'Display runtime version information' },
};
const aliases: Record<string, string> = { image: 'images', img: 'images' };

function subcommandFlags(spec: Spec): string {
  const flags = Object.entries(spec).map(([k, f]) => `${f.short ? `-${f.short}|` : ''}--${k}${f.type === 'string' ? ' X' : ''}`);
  return flags.length ? `\n            [${flags.join('] [')}]` : '';
}

export const command: Command = {
  name: 'crictl',
  summary: 'Inspect and debug the node\'s container runtime over the CRI, as crictl does (pods, ps, images, pull, logs, exec, inspect, inspectp, inspecti, info, version).',
  usage: `[--runtime-endpoint unix:///PATH | --data-dir DIR] COMMAND [flags] [args]\n\nCommands:\n${Object.entries(subcommands)
    .map(([name, c]) => `  ${name.padEnd(10)}${c.help}${subcommandFlags(c.spec)}`)
    .join('\n')}`,
  flags: {
    'runtime-endpoint': { type: 'string', short: 'r', help: 'CRI endpoint (unix:///path); default $CONTAINER_RUNTIME_ENDPOINT, else the containerd of --data-dir.' },
    'image-endpoint': { type: 'string', short: 'i', help: 'CRI image endpoint (default: the runtime endpoint).' },
    timeout: { type: 'string', short: 't', default: '2s', help: 'Timeout of each call (Go duration).' },
    debug: { type: 'boolean', short: 'D', help: 'Print the RPCs made.' },
    'data-dir': { type: 'string', default: 'flotilla-data', help: 'Data dir of `flotilla up` whose containerd to talk to.' },
  },
  run,
};

/** The default endpoint: $CONTAINER_RUNTIME_ENDPOINT, else the containerd of the data dir. */
export function defaultEndpoint(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONTAINER_RUNTIME_ENDPOINT) return env.CONTAINER_RUNTIME_ENDPOINT;
  return `unix://${containerdSocket(containerdDirOf(resolve(dataDir)))}`;
}

async function run(argv: string[]): Promise<number> {
  const { global, sub: rawSub, rest } = splitGlobal(argv);
  let g: Values;
  try {
    g = parseArgs({ args: global, options: command.flags as Spec, allowPositionals: false, strict: true }).values as Values;
  } catch (err) {
    throw new Error(`${(err as Error).message}\nRun 'flotilla crictl --help' for usage.`);
  }
  const sub = aliases[rawSub ?? ''] ?? rawSub;
  if (!sub || !subcommands[sub]) {
    const list = Object.entries(subcommands).map(([k, s]) => `  ${k.padEnd(10)}${s.help}`).join('\n');
    throw new Error(`${sub ? `No help topic for '${sub}'` : 'missing command'}\n\nCommands:\n${list}`);
  }
  const { spec } = subcommands[sub]!;
  let v: Values;
  let args: string[];
  if (sub === 'exec') {
    const [flags, positional] = splitAtFirstPositional(rest, spec);
    ({ v } = parseSub(sub, spec, flags));
    args = positional;
  } else {
    ({ v, args } = parseSub(sub, spec, rest));
  }
  const endpoint = typeof g['runtime-endpoint'] === 'string' && g['runtime-endpoint'] ? g['runtime-endpoint'] : defaultEndpoint(String(g['data-dir']));
  const imageEndpoint = typeof g['image-endpoint'] === 'string' && g['image-endpoint'] ? g['image-endpoint'] : endpoint;
  for (const e of new Set([endpoint, imageEndpoint])) {
    const path = socketPath(e);
    if (!existsSync(path)) {
      throw new Error(`validate service connection: no CRI socket at ${path}: is the runtime running? (set --runtime-endpoint or $CONTAINER_RUNTIME_ENDPOINT, or start a cluster with \`flotilla up --data-dir DIR\` and pass --data-dir DIR)`);
    }
  }
  const cri = new Cri(endpoint, imageEndpoint, durationMs(String(g.timeout)), g.debug === true);
  try {
    switch (sub) {
      case 'pods': return await pods(cri, v);
      case 'ps': return await ps(cri, v);
      case 'images': return await images(cri, v, args);
      case 'pull': return await pull(cri, args);
      case 'logs': return await logs(cri, v, args);
      case 'exec': return await exec(cri, endpoint, v, args);
      case 'inspect': return await inspect(cri, v, args);
      case 'inspectp': return await inspectp(cri, v, args);
      case 'inspecti': return await inspecti(cri, v, args);
      case 'info': return await info(cri, v);
      default: return await version(cri);
    }
  } finally {
    cri.close();
  }
}
