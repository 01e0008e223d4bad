/**
 * The `/openapi/v2` document in its protobuf form (gnostic's `openapi.v2.Document`), which
 * is the only form kubectl's v2 client accepts: it asks for
 * `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and unmarshals the bytes.
 * kubectl reads v2 for `explain --output=plaintext-openapiv2` and when v3 is unavailable.
 *
 * Encoded by hand from the swagger JSON: only the messages a Kubernetes document uses.
 * Field numbers are gnostic's (github.com/google/gnostic-models, openapiv2/OpenAPIv2.proto).
 * Vendor extensions, `enum` and `default` values are gnostic `Any`s carrying YAML text, as
 * gnostic's compiler produces them and kube-openapi's reader (yaml.Unmarshal) expects.
 */
import { stringify as toYAML } from 'yaml';

/** A protobuf message being written: fields appended in order. */
class Message {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  #push(b: Uint8Array): void {
    this.#parts.push(b);
    this.#length += b.length;
  }

  #varint(n: number): void {
    const out: number[] = [];
    let v = n;
    while (v > 0x7f) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    this.#push(Uint8Array.from(out));
  }

  #tag(field: number, wire: 0 | 2): void {
    this.#varint(field * 8 + wire);
  }

  /** A string field; proto3 omits empty strings. */
  string(field: number, v: string | undefined): this {
    if (v === undefined || v === '') return this;
    const b = Buffer.from(v, 'utf8');
    this.#tag(field, 2);
    this.#varint(b.length);
    this.#push(b);
    return this;
  }

  strings(field: number, vs: readonly string[] | undefined): this {
    for (const v of vs ?? []) {
      const b = Buffer.from(v, 'utf8');
      this.#tag(field, 2);
      this.#varint(b.length);
      this.#push(b);
    }
    return this;
  }

  /** A bool field; proto3 omits false. */
  bool(field: number, v: boolean | undefined): this {
    if (!v) return this;
    this.#tag(field, 0);
    this.#varint(1);
    return this;
  }

  /** An embedded message (always written, even if empty: presence matters for oneofs). */
  message(field: number, m: Message | undefined): this {
    if (!m) return this;
    this.#tag(field, 2);
    this.#varint(m.#length);
    for (const p of m.#parts) this.#push(p);
    return this;
  }

  messages(field: number, ms: readonly Message[]): this {
    for (const m of ms) this.message(field, m);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.#parts, this.#length);
  }
}

type JSONObject = Record<string, unknown>;

const obj = (v: unknown): JSONObject => (v && typeof v === 'object' && !Array.isArray(v) ? (v as JSONObject) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** gnostic `Any` holding a YAML rendering of a JSON value. */
function any(value: unknown): Message {
  return new Message().string(2, toYAML(value));
}

/** `repeated NamedAny vendor_extension` for every `x-` key of `o`. */
function vendorExtensions(o: JSONObject): Message[] {
  return Object.keys(o)
    .filter((k) => k.startsWith('x-'))
    .map((k) => new Message().string(1, k).message(2, any(o[k])));
}

/** openapi.v2.Schema */
function schema(s: JSONObject): Message {
  const m = new Message()
    .string(1, str(s.$ref))
    .string(2, str(s.format))
    .string(4, str(s.description));
  if (s.default !== undefined) m.message(5, any(s.default));
  m.strings(19, strs(s.required));
  if (Array.isArray(s.enum)) m.messages(20, s.enum.map(any));
  if (typeof s.additionalProperties === 'boolean') m.message(21, new Message().bool(2, s.additionalProperties));
  else if (s.additionalProperties !== undefined) m.message(21, new Message().message(1, schema(obj(s.additionalProperties))));
  if (s.type !== undefined) m.message(22, new Message().strings(1, Array.isArray(s.type) ? strs(s.type) : strs([s.type])));
  if (s.items !== undefined) m.message(23, new Message().message(1, schema(obj(s.items))));
  if (Array.isArray(s.allOf)) m.messages(24, s.allOf.map((x) => schema(obj(x))));
  if (s.properties !== undefined) {
    m.message(25, new Message().messages(1, Object.entries(obj(s.properties)).map(([k, v]) => new Message().string(1, k).message(2, schema(obj(v))))));
  }
  return m.messages(31, vendorExtensions(s));
}

/** openapi.v2.ParametersItem for an inline parameter. */
function parameter(p: JSONObject): Message {
  let param: Message;
  if (p.in === 'body') {
    param = new Message().message(
      1,
      new Message()
        .string(1, str(p.description))
        .string(2, str(p.name))
        .string(3, 'body')
        .bool(4, p.required === true)
        .message(5, schema(obj(p.schema))),
    );
  } else if (p.in === 'path') {
    const sub = new Message()
      .bool(1, p.required === true)
      .string(2, 'path')
      .string(3, str(p.description))
      .string(4, str(p.name))
      .string(5, str(p.type))
      .bool(19, p.uniqueItems === true);
    param = new Message().message(2, new Message().message(4, sub));
  } else {
    const sub = new Message()
      .bool(1, p.required === true)
      .string(2, 'query')
      .string(3, str(p.description))
      .string(4, str(p.name))
      .string(6, str(p.type))
      .bool(20, p.uniqueItems === true);
    param = new Message().message(2, new Message().message(3, sub));
  }
  return new Message().message(1, param);
}

/** openapi.v2.Operation */
function operation(op: JSONObject): Message {
  const responses = new Message().messages(
    1,
    Object.entries(obj(op.responses)).map(([code, r]) => {
      const resp = new Message().string(1, str(obj(r).description));
      if (obj(r).schema !== undefined) resp.message(2, new Message().message(1, schema(obj(obj(r).schema))));
      return new Message().string(1, code).message(2, new Message().message(1, resp));
    }),
  );
  return new Message()
    .strings(1, strs(op.tags))
    .string(3, str(op.description))
    .string(5, str(op.operationId))
    .strings(6, strs(op.produces))
    .strings(7, strs(op.consumes))
    .messages(8, (Array.isArray(op.parameters) ? op.parameters : []).map((p) => parameter(obj(p))))
    .message(9, responses)
    .strings(10, strs(op.schemes))
    .messages(13, vendorExtensions(op));
}

const METHOD_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

/** openapi.v2.PathItem */
function pathItem(item: JSONObject): Message {
  const m = new Message();
  for (const [method, field] of Object.entries(METHOD_FIELDS)) {
    if (item[method] !== undefined) m.message(field, operation(obj(item[method])));
  }
  m.messages(9, (Array.isArray(item.parameters) ? item.parameters : []).map((p) => parameter(obj(p))));
  return m.messages(10, vendorExtensions(item));
}

/** Encodes a swagger 2.0 document (as built by openAPIV2Document) as `openapi.v2.Document`. */
export function encodeOpenAPIV2(doc: object): Buffer {
  const d = doc as JSONObject;
  const info = obj(d.info);
  const m = new Message()
    .string(1, str(d.swagger))
    .message(2, new Message().string(1, str(info.title)).string(2, str(info.version)).string(3, str(info.description)));
  m.message(8, new Message().messages(2, Object.entries(obj(d.paths)).map(([p, item]) => new Message().string(1, p).message(2, pathItem(obj(item))))));
  m.message(9, new Message().messages(1, Object.entries(obj(d.definitions)).map(([n, s]) => new Message().string(1, n).message(2, schema(obj(s))))));
  for (const req of Array.isArray(d.security) ? d.security : []) {
    m.message(12, new Message().messages(1, Object.entries(obj(req)).map(([n, scopes]) => new Message().string(1, n).message(2, new Message().strings(1, strs(scopes))))));
  }
  const defs = Object.entries(obj(d.securityDefinitions)).map(([n, sd]) => {
    const s = obj(sd);
    // Only apiKey schemes are published (BearerToken): SecurityDefinitionsItem.api_key_security.
    const apiKey = new Message().string(1, str(s.type)).string(2, str(s.name)).string(3, str(s.in)).string(4, str(s.description));
    return new Message().string(1, n).message(2, new Message().message(2, apiKey));
  });
  if (defs.length > 0) m.message(13, new Message().messages(1, defs));
  return m.bytes();
}
