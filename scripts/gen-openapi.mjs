#!/usr/bin/env node
// Generates the OpenAPI definitions Flotilla publishes (/openapi/v2, /openapi/v3) from the
// npm package kubernetes-models, at build time. Nothing generated is committed.
//
//   node scripts/gen-openapi.mjs [--check]
//
// Sources (both MIT, both derived by that project from upstream's OpenAPI spec):
//  - the .d.ts files of kubernetes-models and @kubernetes-models/apimachinery: one
//    interface per definition, every field's description as JSDoc, the field's type
//    (string/number/boolean, literal unions = enums, Array<…>, {[key: string]: …} maps,
//    references to other definitions) and whether it is required (no `?`);
//  - the compiled JSON-schema validators in their `_schemas/*.js`, which we *run* with
//    probe values to learn what the .d.ts cannot say: integer vs number and the format
//    (int32, int64, double, byte, date-time) of each numeric or string field.
//
// Output: src/api/openapi/generated/definitions.json (git-ignored), a neutral form that
// src/api/openapi/definitions.ts turns into v2 and v3 schemas, adding our own
// x-kubernetes-* extension table (src/api/openapi/extensions.ts). References are bare
// definition names: {"$ref": "io.k8s.api.core.v1.PodSpec"}.
//
// Generation is skipped when the output was made by this same script from the same package
// versions (its `stamp`), so `npm run test:dev` pays ~0.1 s, not a full parse; the file is
// written only when its content changes. --force regenerates; --check exits 1 if the file
// is missing or stale.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(join(root, 'package.json'));
const ts = require('typescript');

const outFile = join(root, 'src', 'api', 'openapi', 'generated', 'definitions.json');
const check = process.argv.includes('--check');
const force = process.argv.includes('--force');

const modelsDir = dirname(require.resolve('kubernetes-models/package.json'));
const machineryDir = dirname(require.resolve('@kubernetes-models/apimachinery/package.json'));
const modelsVersion = JSON.parse(readFileSync(join(modelsDir, 'package.json'), 'utf8')).version;
const machineryVersion = JSON.parse(readFileSync(join(machineryDir, 'package.json'), 'utf8')).version;

const stamp = createHash('sha256')
  .update(readFileSync(new URL(import.meta.url)))
  .update(`\0${modelsVersion}\0${machineryVersion}\0${ts.version}`)
  .digest('hex');
if (!force && existsSync(outFile)) {
  let old;
  try {
    old = JSON.parse(readFileSync(outFile, 'utf8'));
  } catch {
    old = undefined;
  }
  if (old?.stamp === stamp) process.exit(0);
}

// Go package of each API group folder of kubernetes-models, where it is not simply the
// group's first DNS label (upstream names definitions after Go packages, not groups).
const groupPackages = {
  v1: 'io.k8s.api.core',
  'apiextensions.k8s.io': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions',
  'apiregistration.k8s.io': 'io.k8s.kube-aggregator.pkg.apis.apiregistration',
};

/** Definition name of a .d.ts file, from its path; undefined for re-export files. */
function definitionName(file) {
  const base = file.split(sep).pop().replace(/\.d\.ts$/, '');
  if (base === 'index' || base.startsWith('IoK8s')) return undefined;
  if (file.startsWith(machineryDir + sep)) {
    const parts = relative(machineryDir, file).split(sep).slice(0, -1);
    return ['io.k8s.apimachinery.pkg', ...parts, base].join('.');
  }
  const parts = relative(modelsDir, file).split(sep);
  if (parts[0] === '_schemas') return undefined;
  if (parts.length === 2 && parts[0] === 'v1') return `io.k8s.api.core.v1.${base}`;
  if (parts.length !== 3) return undefined;
  const [group, version] = parts;
  const pkg = groupPackages[group] ?? `io.k8s.api.${group.split('.')[0]}`;
  return `${pkg}.${version}.${base}`;
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith('.d.ts')) yield p;
  }
}

/**
 * The JSDoc text before a node, as upstream's description. Read from the comment's source
 * rather than TypeScript's JSDoc parse, which would split descriptions at `@` (e-mail
 * addresses, "@context") into tags. kubernetes-models escapes `*` and `/` as `\*`, `\/`.
 */
function jsDoc(node) {
  const sf = node.getSourceFile();
  const ranges = ts.getLeadingCommentRanges(sf.text, node.pos) ?? [];
  const last = ranges.filter((r) => sf.text.startsWith('/**', r.pos)).pop();
  if (!last) return undefined;
  const body = sf.text.slice(last.pos + 3, last.end - 2);
  const lines = body.split('\n').map((l) => l.replace(/^\s*\* ?/, ''));
  if (lines.length > 0 && lines[0].trim() === '') lines.shift();
  if (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.join('\n').replace(/\\([*/])/g, '$1');
}

function propName(name) {
  if (ts.isStringLiteral(name) || ts.isIdentifier(name)) return name.text;
  throw new Error(`unsupported property name kind ${ts.SyntaxKind[name.kind]}`);
}

// ---- pass 1: parse every .d.ts into raw declarations ----

/** mangled export name (IoK8sApiAppsV1ReplicaSet) -> definition name */
const byMangled = new Map();
/** definition name -> { file, mangled, decl: InterfaceDeclaration | TypeAliasDeclaration, local: string } */
const decls = new Map();

for (const dir of [machineryDir, modelsDir]) {
  for (const file of walk(dir)) {
    const name = definitionName(file);
    if (!name) continue;
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    let mangled;
    let local;
    for (const st of sf.statements) {
      if (ts.isExportDeclaration(st) && st.exportClause && ts.isNamedExports(st.exportClause)) {
        for (const el of st.exportClause.elements) {
          // export { IReplicaSet as IIoK8sApiAppsV1ReplicaSet, ReplicaSet as IoK8sApiAppsV1ReplicaSet }
          if (el.name.text.startsWith('IIoK8s') && el.propertyName) {
            mangled = el.name.text.slice(1);
            local = el.propertyName.text;
          }
        }
      }
    }
    if (!mangled) continue;
    const decl = sf.statements.find(
      (st) => (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name.text === local,
    );
    if (!decl) throw new Error(`${file}: no declaration of ${local}`);
    byMangled.set(mangled, name);
    decls.set(name, { file, mangled, decl, local, dir });
  }
}

// ---- pass 2: probe the compiled validators for integer/number and formats ----

const validators = new Map();
function validatorOf(name) {
  if (validators.has(name)) return validators.get(name);
  const { mangled, dir } = decls.get(name);
  const path = join(dir, '_schemas', `${mangled}.js`);
  const v = existsSync(path) ? require(path).validate : undefined;
  validators.set(name, v);
  return v;
}

/** Errors of validating `data` against definition `name`, at exactly `path`. */
function errorsAt(name, data, path) {
  const validate = validatorOf(name);
  if (!validate) return [];
  validate(data);
  return (validate.errors ?? []).filter((e) => e.instancePath === path);
}

/**
 * Wraps `value` in the shape a location needs: steps are property names, '[]' for an
 * array item and '{}' for a map value. Returns the data and the instancePath of value.
 */
function place(steps, value) {
  let data = value;
  let path = '';
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i];
    if (s === '[]') data = [data];
    else if (s === '{}') data = { k: data };
    else data = { [s]: data };
  }
  for (const s of steps) path += s === '[]' ? '/0' : s === '{}' ? '/k' : `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  return { data, path };
}

function probe(defName, steps, value) {
  const { data, path } = place(steps, value);
  return errorsAt(defName, data, path);
}

function numberSchema(defName, steps) {
  if (!validatorOf(defName)) {
    problems.push(`${defName}.${steps.join('.')}: no compiled schema to tell integer from number`);
    return { type: 'number' };
  }
  const asFloat = probe(defName, steps, 1.5);
  const integer = asFloat.some((e) => e.keyword === 'type' && e.params.type === 'integer');
  if (!integer) {
    // Every float in the Kubernetes API is a Go float64, published as "double".
    return { type: 'number', format: 'double' };
  }
  const big = probe(defName, steps, 2 ** 40).find((e) => e.keyword === 'format');
  if (big) return { type: 'integer', format: big.params.format };
  // The int64 format check cannot fail on a JavaScript number; every other integer in
  // the Kubernetes API is a Go int64.
  return { type: 'integer', format: 'int64' };
}

function stringFormat(defName, steps) {
  for (const bad of ['!!! not a format', '']) {
    const f = probe(defName, steps, bad).find((e) => e.keyword === 'format');
    if (f) return f.params.format;
  }
  return undefined;
}

// ---- pass 3: convert type nodes into schemas ----

const problems = [];
const apiVersionDescription = { text: undefined };
const kindDescription = { text: undefined };

function refTo(typeName, ctx) {
  const n = typeName.startsWith('IIoK8s') ? typeName.slice(1) : typeName;
  if (byMangled.has(n)) return byMangled.get(n);
  if (typeName === ctx.local) return ctx.defName; // self reference (JSONSchemaProps)
  problems.push(`${ctx.defName}: unknown type reference ${typeName}`);
  return undefined;
}

function convert(node, ctx, steps) {
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword: {
      const format = stringFormat(ctx.defName, steps);
      return format ? { type: 'string', format } : { type: 'string' };
    }
    case ts.SyntaxKind.NumberKeyword:
      return numberSchema(ctx.defName, steps);
    case ts.SyntaxKind.BooleanKeyword:
      return { type: 'boolean' };
    case ts.SyntaxKind.AnyKeyword:
    case ts.SyntaxKind.UnknownKeyword:
    case ts.SyntaxKind.ObjectKeyword:
      return { type: 'object' };
    case ts.SyntaxKind.ParenthesizedType:
      return convert(node.type, ctx, steps);
    case ts.SyntaxKind.ArrayType:
      return { type: 'array', items: convert(node.elementType, ctx, [...steps, '[]']) };
    case ts.SyntaxKind.LiteralType:
    case ts.SyntaxKind.UnionType: {
      const members = node.kind === ts.SyntaxKind.UnionType ? node.types : [node];
      const lits = [];
      const others = [];
      for (const m of members) {
        if (ts.isLiteralTypeNode(m) && ts.isStringLiteral(m.literal)) lits.push(m.literal.text);
        else if (ts.isLiteralTypeNode(m) && m.literal.kind === ts.SyntaxKind.NullKeyword) continue;
        else others.push(m);
      }
      if (others.length === 0 && lits.length > 0) return { type: 'string', enum: lits };
      if (others.length === 1 && lits.length === 0) return convert(others[0], ctx, steps);
      problems.push(`${ctx.defName}.${steps.join('.')}: unsupported union ${node.getText()}`);
      return {};
    }
    case ts.SyntaxKind.TypeReference: {
      const tn = node.typeName.getText();
      if (tn === 'Array' && node.typeArguments?.length === 1) {
        return { type: 'array', items: convert(node.typeArguments[0], ctx, [...steps, '[]']) };
      }
      const ref = refTo(tn, ctx);
      return ref ? { $ref: ref } : {};
    }
    case ts.SyntaxKind.TypeLiteral: {
      const index = node.members.find((m) => ts.isIndexSignatureDeclaration(m));
      if (index && node.members.length === 1) {
        return { type: 'object', additionalProperties: convert(index.type, ctx, [...steps, '{}']) };
      }
      if (!index) {
        // An inlined kind (StatefulSetSpec.volumeClaimTemplates inlines PersistentVolumeClaim
        // because of its apiVersion/kind literals): refer to the definition it copies.
        const props = node.members.map((m) => propName(m.name)).sort().join(',');
        const spec = node.members.find((m) => propName(m.name) === 'spec');
        for (const [name, d] of decls) {
          if (!ts.isInterfaceDeclaration(d.decl)) continue;
          const dprops = d.decl.members.filter((m) => ts.isPropertySignature(m)).map((m) => propName(m.name)).sort().join(',');
          const dspec = d.decl.members.find((m) => ts.isPropertySignature(m) && propName(m.name) === 'spec');
          if (dprops === props && spec && dspec && spec.type.getText() === dspec.type.getText()) return { $ref: name };
        }
        return objectSchema(node.members, ctx, steps);
      }
      problems.push(`${ctx.defName}.${steps.join('.')}: unsupported type literal`);
      return {};
    }
    default:
      problems.push(`${ctx.defName}.${steps.join('.')}: unsupported type node ${ts.SyntaxKind[node.kind]}`);
      return {};
  }
}

function objectSchema(members, ctx, steps) {
  const properties = {};
  const required = [];
  for (const m of members) {
    if (!ts.isPropertySignature(m)) continue;
    const p = propName(m.name);
    const description = jsDoc(m);
    let schema;
    const isTypeMetaLiteral =
      steps.length === 0 && (p === 'apiVersion' || p === 'kind') && m.type && ts.isLiteralTypeNode(m.type);
    if (isTypeMetaLiteral) {
      // kubernetes-models pins apiVersion/kind of a kind to literals and drops their
      // descriptions; upstream publishes them as optional strings with the standard text.
      ctx.gvk[p] = m.type.literal.text;
      schema = { type: 'string', typeMetaDescription: p };
    } else {
      schema = convert(m.type, ctx, [...steps, p]);
      if (!m.questionToken) required.push(p);
    }
    if (description !== undefined) schema = { description, ...schema };
    if (p === 'apiVersion' && description && ctx.defName.endsWith('.DeleteOptions')) apiVersionDescription.text = description;
    if (p === 'kind' && description && ctx.defName.endsWith('.DeleteOptions')) kindDescription.text = description;
    properties[p] = schema;
  }
  const out = { type: 'object' };
  if (Object.keys(properties).length > 0) out.properties = Object.fromEntries(Object.entries(properties).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (required.length > 0) out.required = required;
  return out;
}

// Definitions whose .d.ts is a bare alias and whose JSON form upstream fixes by hand
// (custom marshalling in Go: OpenAPISchemaType/OpenAPISchemaFormat).
const aliasOverrides = {
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': { type: 'string', format: 'date-time' },
};

const definitions = {};
const gvks = {};
for (const [defName, d] of [...decls].sort(([a], [b]) => (a < b ? -1 : 1))) {
  const ctx = { defName, local: d.local, gvk: {} };
  const description = jsDoc(d.decl);
  let schema;
  if (aliasOverrides[defName]) schema = { ...aliasOverrides[defName] };
  else if (ts.isInterfaceDeclaration(d.decl)) schema = objectSchema(d.decl.members, ctx, []);
  else if (ts.isTypeLiteralNode(d.decl.type) && d.decl.type.members.length === 0) schema = { type: 'object' };
  else schema = convert(d.decl.type, ctx, []);
  if (description !== undefined) schema = { description, ...schema };
  definitions[defName] = schema;
  if (ctx.gvk.apiVersion && ctx.gvk.kind) {
    const [group, version] = ctx.gvk.apiVersion.includes('/') ? ctx.gvk.apiVersion.split('/') : ['', ctx.gvk.apiVersion];
    gvks[defName] = { group, version, kind: ctx.gvk.kind };
  }
}

// Fill in the standard apiVersion/kind descriptions dropped on kinds.
for (const schema of Object.values(definitions)) {
  for (const [p, prop] of Object.entries(schema.properties ?? {})) {
    if (!prop.typeMetaDescription) continue;
    delete prop.typeMetaDescription;
    const text = p === 'apiVersion' ? apiVersionDescription.text : kindDescription.text;
    if (!text) throw new Error(`no standard description for ${p}`);
    schema.properties[p] = { description: text, ...prop };
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}

const output = {
  stamp,
  // Which upstream API the descriptions describe; see README of kubernetes-models.
  source: { 'kubernetes-models': modelsVersion, '@kubernetes-models/apimachinery': machineryVersion },
  gvks,
  definitions,
};
const text = JSON.stringify(output) + '\n';
const old = existsSync(outFile) ? readFileSync(outFile, 'utf8') : undefined;
if (check) {
  if (old !== text) {
    console.error(`${relative(root, outFile)} is missing or stale; run node scripts/gen-openapi.mjs`);
    process.exit(1);
  }
} else if (old !== text) {
  mkdirSync(dirname(outFile), { recursive: true });
  // Concurrent builds and test runs may generate at once: readers see the old or the new
  // file, never half of one.
  const tmp = `${outFile}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, outFile);
  console.log(`gen-openapi: wrote ${Object.keys(definitions).length} definitions to ${relative(root, outFile)}`);
}
