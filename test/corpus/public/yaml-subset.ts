/**
 * A minimal YAML reader for the subset Suricata-verify's test.yaml files use: block mappings and
 * sequences by indentation (a sequence may sit at its key's indent), `- key: value` items,
 * plain / single- / double-quoted scalars, flow sequences of scalars (`[a, "b"]`) and comments.
 * No anchors, block scalars or flow mappings: the corpus has none, and the project may not add a
 * YAML dependency. Anything outside the subset throws, so a new file never parses silently wrong.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  number: number;
}

export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '' || text === '---') return;
    lines.push({ indent: text.length - text.trimStart().length, text: text.trimStart(), number: i + 1 });
  });
  const parser = new Parser(lines);
  if (lines.length === 0) return null;
  const value = parser.block(lines[0].indent);
  if (parser.pos < lines.length) parser.fail(`unexpected indentation`);
  return value;
}

class Parser {
  pos = 0;
  constructor(private readonly lines: Line[]) {}

  fail(message: string): never {
    const line = this.lines[Math.min(this.pos, this.lines.length - 1)];
    throw new Error(`yaml-subset: ${message} at line ${line?.number}: ${line?.text}`);
  }

  block(indent: number): YamlValue {
    const line = this.lines[this.pos];
    return isSequenceItem(line.text) ? this.sequence(indent) : this.mapping(indent);
  }

  private sequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    while (this.pos < this.lines.length) {
      const line = this.lines[this.pos];
      if (line.indent !== indent || !isSequenceItem(line.text)) break;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.pos++;
        const next = this.lines[this.pos];
        items.push(next && next.indent > indent ? this.block(next.indent) : null);
      } else if (MAPPING_ENTRY.test(rest)) {
        // `- key: value` opens a mapping whose keys line up with `key`.
        const column = indent + (line.text.length - rest.length);
        this.lines[this.pos] = { indent: column, text: rest, number: line.number };
        items.push(this.mapping(column));
      } else {
        this.pos++;
        items.push(scalar(rest, () => this.fail('bad scalar')));
      }
    }
    return items;
  }

  private mapping(indent: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    while (this.pos < this.lines.length) {
      const line = this.lines[this.pos];
      if (line.indent < indent) break;
      if (line.indent > indent) this.fail('unexpected indentation');
      if (isSequenceItem(line.text)) break;
      const match = MAPPING_ENTRY.exec(line.text);
      if (!match) this.fail('expected "key: value"');
      const key = unquoteKey(match[1].trim());
      const rest = line.text.slice(match[0].length).trim();
      this.pos++;
      if (rest !== '') {
        map[key] = scalar(rest, () => this.fail('bad scalar'));
        continue;
      }
      const next = this.lines[this.pos];
      if (next && next.indent > indent) map[key] = this.block(next.indent);
      else if (next && next.indent === indent && isSequenceItem(next.text)) map[key] = this.sequence(indent);
      else map[key] = null;
    }
    return map;
  }
}

/** `key:` then a space or the end of the line; keys may be quoted. */
const MAPPING_ENTRY = /^("[^"]*"|'[^']*'|[^'"[{\s][^:]*?)\s*:(?=\s|$)/;

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

function unquoteKey(key: string): string {
  if (key.length >= 2 && (key[0] === '"' || key[0] === "'") && key.at(-1) === key[0]) return key.slice(1, -1);
  return key;
}

/** Drops a `#` comment that starts the line or follows whitespace, outside quotes. */
function stripComment(raw: string): string {
  let quote: string | null = null;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      // A quote opens a quoted scalar only at a token start (`it's` in a comment is plain text).
      if (i === 0 || /[\s:[,-]/.test(raw[i - 1])) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(raw[i - 1]))) {
      return raw.slice(0, i);
    }
  }
  return raw;
}

function scalar(text: string, fail: () => never): YamlValue {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) fail();
    return splitFlow(text.slice(1, -1)).map((item) => scalar(item, fail));
  }
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) fail();
    return text
      .slice(1, -1)
      .replace(
        /\\(["\\/nrt0]|x[0-9a-fA-F]{2})/g,
        (_, e: string) => ESCAPES[e] ?? String.fromCharCode(parseInt(e.slice(1), 16)),
      );
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) fail();
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (/^-?\d+$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null' || text === '~') return null;
  return text;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  n: '\n',
  r: '\r',
  t: '\t',
  '0': '\0',
};

/** Splits a flow sequence body at commas outside quotes. */
function splitFlow(body: string): string[] {
  const items: string[] = [];
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ',') {
      items.push(body.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = body.slice(start).trim();
  if (last !== '' || items.length > 0) items.push(last);
  return items.filter((item) => item !== '');
}
