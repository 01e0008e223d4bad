#!/usr/bin/env node
// Copies non-TypeScript runtime assets (gRPC .proto files, OpenAPI data) next to the
// compiled JavaScript so dist/ runs on its own.
import { cpSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const exts = ['.proto', '.json.gz', '.json'];
function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}
for (const file of walk(join(root, 'src'))) {
  if (!exts.some((e) => file.endsWith(e))) continue;
  const out = join(root, 'dist', relative(root, file));
  mkdirSync(dirname(out), { recursive: true });
  cpSync(file, out);
}
