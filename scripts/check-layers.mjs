#!/usr/bin/env node
// The layering rule of STYLE.md, enforced: each top-level folder under src/ may import
// only the folders listed for it. Components (apiserver, scheduler, controllers, kubelet,
// proxy, dns) talk to each other only through the API server, so none imports another.
// cmd/ is the composition root and may import everything.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');

const base = ['util'];
const allowed = {
  util: [],
  apimachinery: [],
  api: ['apimachinery'],
  storage: ['apimachinery'],
  client: ['apimachinery', 'api'],
  apiserver: ['apimachinery', 'api', 'storage'],
  scheduler: ['apimachinery', 'api', 'client'],
  controllers: ['apimachinery', 'api', 'client'],
  kubelet: ['apimachinery', 'api', 'client'],
  proxy: ['apimachinery', 'api', 'client'],
  dns: ['apimachinery', 'api', 'client'],
  cmd: null, // composition root: anything
};

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const problems = [];
for (const file of walk(src)) {
  const layer = relative(src, file).split(sep)[0];
  if (!(layer in allowed)) {
    problems.push(`${relative(root, file)}: folder src/${layer} is not in the layering table (scripts/check-layers.mjs)`);
    continue;
  }
  const may = allowed[layer];
  if (may === null) continue;
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    const target = relative(src, resolve(dirname(file), spec));
    // Tests beside the code may use the shared test helpers (real etcd, CLI runner, ports).
    if (file.endsWith('.test.ts') && relative(root, resolve(dirname(file), spec)).startsWith(`test${sep}util${sep}`)) continue;
    if (target.startsWith('..')) {
      problems.push(`${relative(root, file)}: imports ${spec}, outside src/`);
      continue;
    }
    const targetLayer = target.split(sep)[0];
    if (targetLayer === layer || base.includes(targetLayer) || may.includes(targetLayer)) continue;
    problems.push(`${relative(root, file)}: src/${layer} may not import src/${targetLayer} (${spec})`);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} layering violation(s); see STYLE.md "The layout is the architecture".`);
  process.exit(1);
}
console.log('layering: ok');
