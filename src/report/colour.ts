/**
 * Whether to colour, and the palette. picocolors alone ignores FORCE_COLOR=0 and forces colour
 * on CI (notes/dependencies.md), so we decide ourselves and build it with createColors(enabled).
 */
import pc from 'picocolors';

export interface ColourStream {
  isTTY?: boolean;
  hasColors?: (count?: number) => boolean;
}

export interface ColourOptions {
  /** --color (true) / --no-color (false); undefined when neither was given. */
  flag?: boolean;
  env: NodeJS.ProcessEnv;
  stream: ColourStream;
}

/** First rule that applies: the flag, NO_COLOR non-empty, FORCE_COLOR, then the stream itself. */
export function decideColour(opts: ColourOptions): boolean {
  if (opts.flag !== undefined) return opts.flag;
  const noColor = opts.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  const force = opts.env.FORCE_COLOR;
  // Node's convention: '', '1', 'true', '2', '3' all mean on; only '0' and 'false' mean off.
  if (force !== undefined) return !(force === '0' || force.toLowerCase() === 'false');
  return opts.stream.isTTY === true && typeof opts.stream.hasColors === 'function' && opts.stream.hasColors();
}

export type Paint = (text: string) => string;

export interface Palette {
  enabled: boolean;
  /** Client → server text (red, as Wireshark's Follow TCP Stream). */
  client: Paint;
  /** Server → client text (blue). */
  server: Paint;
  dim: Paint;
  bold: Paint;
  /** Good outcomes (delivered, accepted). */
  ok: Paint;
  /** Partial outcomes and gaps (aborted, incomplete, missing bytes). */
  warn: Paint;
  /** Refusals. */
  bad: Paint;
}

const identity: Paint = (text) => text;

/** Wraps a formatter so empty text stays empty (picocolors would emit a bare open/close pair). */
function paint(format: (input: string) => string): Paint {
  return (text) => (text === '' ? '' : format(text));
}

export function createPalette(enabled: boolean): Palette {
  if (!enabled) {
    return {
      enabled,
      client: identity,
      server: identity,
      dim: identity,
      bold: identity,
      ok: identity,
      warn: identity,
      bad: identity,
    };
  }
  const c = pc.createColors(true);
  return {
    enabled,
    client: paint(c.red),
    server: paint(c.blue),
    dim: paint(c.dim),
    bold: paint(c.bold),
    ok: paint(c.green),
    warn: paint(c.yellow),
    bad: paint(c.magenta),
  };
}
