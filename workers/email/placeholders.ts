// The only "templating" at send time: fill `{{name}}` placeholders in text that was compiled once at
// boot (MJML → HTML). Values are data, never parsed as templates: each is escaped for its output
// (HTML-escaped for the HTML part) and inserted as text. There is deliberately no raw/unescaped form.
//
// Syntax (a small mustache subset, parsed once per template):
//   {{name}}             the value of `name` (dotted paths allowed: {{report.name}})
//   {{#list}}…{{/list}}  repeated for each item of an array (item fields come first in scope);
//                        rendered once for any other truthy value
//   {{^list}}…{{/list}}  rendered when the value is missing, false or an empty array

export type Escape = (value: string) => string;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };
/** Safe in HTML text and in quoted attribute values. */
export const escapeHtml: Escape = (s) => (/[&<>"'`]/.test(s) ? s.replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c] as string) : s);
export const noEscape: Escape = (s) => s;
/** For header values such as the subject: no line breaks (header injection), trimmed. */
export const oneLine: Escape = (s) => s.replace(/[\r\n\u2028\u2029]+/g, ' ');

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'var'; path: string[] }
  | { kind: 'section'; path: string[]; inverted: boolean; children: Node[] };

const TAG = /\{\{\s*([#^/]?)\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*\}\}/g;

/** Parse once; throws on unbalanced sections or a stray `{{`. */
export function parsePlaceholders(source: string): Node[] {
  const root: Node[] = [];
  const stack: { name: string; children: Node[] }[] = [{ name: '', children: root }];
  let last = 0;
  const text = (s: string) => {
    if (s.includes('{{')) throw new Error(`malformed placeholder near "${s.slice(s.indexOf('{{'), s.indexOf('{{') + 30)}"`);
    if (s) stack.at(-1)?.children.push({ kind: 'text', text: s });
  };
  for (const m of source.matchAll(TAG)) {
    text(source.slice(last, m.index));
    last = m.index + m[0].length;
    const [, sigil, name] = m as unknown as [string, string, string];
    const top = stack.at(-1) as { name: string; children: Node[] };
    if (sigil === '#' || sigil === '^') {
      const node: Node = { kind: 'section', path: name.split('.'), inverted: sigil === '^', children: [] };
      top.children.push(node);
      stack.push({ name, children: node.children });
    } else if (sigil === '/') {
      if (top.name !== name) throw new Error(`{{/${name}}} closes ${top.name ? `{{#${top.name}}}` : 'nothing'}`);
      stack.pop();
    } else top.children.push({ kind: 'var', path: name.split('.') });
  }
  text(source.slice(last));
  if (stack.length > 1) throw new Error(`{{#${stack.at(-1)?.name}}} is never closed`);
  return root;
}

function lookup(scopes: readonly unknown[], path: string[]): unknown {
  for (let i = scopes.length - 1; i >= 0; i--) {
    let v: unknown = scopes[i];
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, path[0] as string)) continue;
    for (const key of path) {
      if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
      v = (v as Record<string, unknown>)[key];
    }
    return v;
  }
  return undefined;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

function fill(nodes: Node[], scopes: unknown[], escapeValue: Escape, strict: boolean): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'var') {
      const v = lookup(scopes, n.path);
      if (strict && v === undefined) throw new Error(`no value for {{${n.path.join('.')}}}`);
      out += escapeValue(show(v));
    } else {
      const v = lookup(scopes, n.path);
      if (strict && v === undefined) throw new Error(`no value for {{#${n.path.join('.')}}}`);
      const empty = v === undefined || v === null || v === false || v === '' || (Array.isArray(v) && v.length === 0);
      if (n.inverted) {
        if (empty) out += fill(n.children, scopes, escapeValue, strict);
      } else if (Array.isArray(v)) {
        for (const item of v) out += fill(n.children, [...scopes, item], escapeValue, strict);
      } else if (!empty) out += fill(n.children, [...scopes, v], escapeValue, strict);
    }
  }
  return out;
}

/** `strict`: a placeholder without a value throws (used to check templates against their sample vars) */
export type Filler = (values: Record<string, unknown>, opts?: { strict?: boolean }) => string;

/** Parse `source` once and return a function that fills it, escaping every value with `escapeValue`. */
export function compilePlaceholders(source: string, escapeValue: Escape): Filler {
  const nodes = parsePlaceholders(source);
  return (values, opts = {}) => fill(nodes, [values], escapeValue, opts.strict ?? false);
}
