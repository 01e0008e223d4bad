/**
 * `flotilla images`: images on a node without a registry.
 *
 *   flotilla images import [--data-dir DIR] FILE...   OCI or Docker (docker save) archives, .tar or .tar.gz,
 *                                                    into the containerd of the cluster `flotilla up` runs on DIR
 *   flotilla images ls [--data-dir DIR] [-q]         the node's images, as `crictl images` lists them
 *   flotilla images build-busybox --name N -o FILE   an OCI archive of busybox-static with a command and files
 *
 * An archive dropped into DIR/images/ is imported at every `up` (air-gap folder, as k3s's
 * agent/images); `import` is for a cluster that is already running.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseFlags, type Command } from './command.js';
import { containerdDirOf, containerdSocket } from '../kubelet/containerd/index.js';
import { checkSocket, importImages, sniffArchive } from '../kubelet/images/import.js';
import { buildBusyboxImage, type ImageFile, type ImageRuntimeConfig } from '../kubelet/images/oci.js';

const DefaultDataDir = 'flotilla-data'; // the default of `flotilla up --data-dir`

const usage = [
  'import [--data-dir DIR] FILE...',
  '       flotilla images ls [--data-dir DIR] [-q]',
  '       flotilla images build-busybox --name NAME [--entrypoint CMD] [--cmd CMD] [--env K=V]... [--file PATH=LOCAL]... -o FILE',
].join('\n');

export const command: Command = {
  name: 'images',
  summary: 'Import image archives into a running cluster (no registry needed), list its images, build busybox-based images.',
  usage,
  flags: {
    'data-dir': { type: 'string', default: DefaultDataDir, help: 'Data dir of the cluster started with `flotilla up` (import, ls).' },
    address: { type: 'string', default: '', help: "containerd's socket, instead of the one of the cluster on --data-dir (import, ls)." },
    'all-platforms': { type: 'boolean', help: 'Import every platform of a multi-platform archive (import).' },
    quiet: { type: 'boolean', short: 'q', help: 'Only image IDs (ls).' },
    name: { type: 'string', help: 'Image name, e.g. example.com/app:1 (build-busybox).' },
    entrypoint: { type: 'string', help: 'Entrypoint: words split on spaces, or a JSON array (build-busybox).' },
    cmd: { type: 'string', help: 'Cmd: words split on spaces, or a JSON array (build-busybox).' },
    env: { type: 'string', multiple: true, help: 'KEY=value environment entry; repeatable (build-busybox).' },
    workdir: { type: 'string', help: 'Working directory (build-busybox).' },
    user: { type: 'string', help: 'User to run as, e.g. 65534 (build-busybox).' },
    port: { type: 'string', multiple: true, help: 'Exposed port, e.g. 80 or 53/udp; repeatable (build-busybox).' },
    file: { type: 'string', multiple: true, help: 'IMAGE_PATH=LOCAL_FILE to add (mode kept); repeatable (build-busybox).' },
    busybox: { type: 'string', default: '/bin/busybox', help: 'The statically linked busybox to build from (build-busybox).' },
    output: { type: 'string', short: 'o', help: 'Archive to write (build-busybox).' },
  },
  run,
};

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, argv);
  const [sub, ...args] = positionals;
  switch (sub) {
    case 'import':
      return runImport(values, args);
    case 'ls':
    case 'list':
      return runList(values);
    case 'build-busybox':
      return runBuild(values, args);
    default:
      throw new Error(`${sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`}: want import, ls or build-busybox\nRun 'flotilla images --help' for usage.`);
  }
}

type Values = Record<string, string | boolean | string[] | undefined>;

/** The containerd socket to talk to, or a one-line error saying how to get a cluster there. */
async function socketOf(values: Values): Promise<string> {
  if (values.address) {
    await checkSocket(String(values.address));
    return String(values.address);
  }
  const dataDir = resolve(String(values['data-dir']));
  const socket = containerdSocket(containerdDirOf(dataDir));
  if (!existsSync(socket)) {
    const why = existsSync(dataDir) ? `no containerd socket at ${socket}; is it running, with --runtime cri?` : 'the directory does not exist';
    throw new Error(`no running cluster on ${dataDir} (${why}): start one with \`flotilla up --data-dir ${dataDir}\``);
  }
  return socket;
}

async function runImport(values: Values, files: string[]): Promise<number> {
  if (files.length === 0) throw new Error("no image archive given: flotilla images import [--data-dir DIR] FILE...\nRun 'flotilla images --help' for usage.");
  // A bad file name is reported before anything else, whether or not a cluster runs.
  for (const f of files) await sniffArchive(f);
  const socket = await socketOf(values);
  const results = await importImages(socket, files, { allPlatforms: values['all-platforms'] === true });
  for (const r of results) {
    if (r.images.length === 0) console.log(`${r.file}: no named image in the archive (nothing imported)`);
    for (const name of r.images) console.log(`imported ${name} (${r.file})`);
  }
  return 0;
}

/** A size as crictl prints it (go-units HumanSizeWithPrecision, 3 digits, decimal units). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(3))}${units[i]}`;
}

async function runList(values: Values): Promise<number> {
  const socket = await socketOf(values);
  const { CriRuntime } = await import('../kubelet/cri/runtime.js');
  const rt = new CriRuntime({ endpoint: socket, timeoutMs: 10_000 });
  try {
    const images = await rt.listImages();
    const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 13);
    if (values.quiet) {
      for (const img of images) console.log(img.id);
      return 0;
    }
    const rows: string[][] = [['IMAGE', 'TAG', 'IMAGE ID', 'SIZE']];
    for (const img of images) {
      const tags = img.repoTags.length > 0 ? img.repoTags : ['<none>:<none>'];
      for (const t of tags) {
        const colon = t.lastIndexOf(':');
        rows.push([t.slice(0, colon), t.slice(colon + 1), short(img.id), humanSize(img.size)]);
      }
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) console.log(r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('').trimEnd());
    return 0;
  } finally {
    rt.close();
  }
}

/** "sh -c 'x'" is not shell-parsed: words split on spaces, or a JSON array for anything else. */
function words(flag: string, v: unknown): string[] | undefined {
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      throw new Error(`invalid --${flag} ${JSON.stringify(v)}: not a JSON array`);
    }
    if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === 'string')) throw new Error(`invalid --${flag}: want a JSON array of strings`);
    return parsed;
  }
  return s.split(/\s+/).filter(Boolean);
}

async function runBuild(values: Values, extra: string[]): Promise<number> {
  if (extra.length > 0) throw new Error(`unexpected argument ${JSON.stringify(extra[0])}: build-busybox takes only flags`);
  if (!values.name) throw new Error('build-busybox needs --name, e.g. --name example.com/app:1');
  if (!values.output) throw new Error('build-busybox needs -o FILE, the archive to write');
  const config: ImageRuntimeConfig = {};
  const entrypoint = words('entrypoint', values.entrypoint);
  const cmd = words('cmd', values.cmd);
  if (entrypoint) config.Entrypoint = entrypoint;
  if (cmd) config.Cmd = cmd;
  const env = (values.env as string[] | undefined) ?? [];
  for (const e of env) if (!/^[^=]+=/.test(e)) throw new Error(`invalid --env ${JSON.stringify(e)}: want KEY=value`);
  if (env.length > 0) config.Env = env;
  if (values.workdir) config.WorkingDir = String(values.workdir);
  if (values.user) config.User = String(values.user);
  const ports = (values.port as string[] | undefined) ?? [];
  if (ports.length > 0) {
    config.ExposedPorts = {};
    for (const p of ports) {
      if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(p)) throw new Error(`invalid --port ${JSON.stringify(p)}: want e.g. 80 or 53/udp`);
      config.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
    }
  }
  const files: Record<string, ImageFile> = {};
  for (const f of (values.file as string[] | undefined) ?? []) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new Error(`invalid --file ${JSON.stringify(f)}: want IMAGE_PATH=LOCAL_FILE`);
    const local = f.slice(eq + 1);
    let content: Buffer;
    try {
      content = readFileSync(local);
    } catch (err) {
      throw new Error(`--file ${f}: cannot read ${local}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    files[f.slice(0, eq)] = { content, mode: statSync(local).mode & 0o7777 };
  }
  const built = await buildBusyboxImage({ name: String(values.name), config, files, busybox: String(values.busybox), outFile: resolve(String(values.output)) });
  console.log(`built ${built.name} (image ID ${built.id}) in ${built.file}`);
  return 0;
}
