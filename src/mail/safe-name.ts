/**
 * File names built from message text (subjects, attachment names) that can never choose a path:
 * one plain segment, no control or reserved characters, no device names, bounded length.
 */

/** UTF-8 bytes a built name may take, extension included (filesystems allow 255). */
export const MAX_NAME_BYTES = 150;
/** Longest extension kept whole when a name is shortened. */
const MAX_EXTENSION_BYTES = 16;

/** C0/C1 controls, DEL, bidi and zero-width format characters, and what Windows forbids in names. */
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff<>:"|?*]/gu;
/** Device names Windows opens instead of a file, whatever extension follows. */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Cuts text to at most `max` UTF-8 bytes without splitting a character. */
function cutBytes(text: string, max: number): string {
  if (utf8Length(text) <= max) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = utf8Length(ch);
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * A safe file name from an untrusted one: its last path segment (`/` and `\` both separate;
 * a drive prefix is dropped), unsafe characters as `_`, no leading or trailing dots and blanks,
 * reserved device names prefixed with `_`, at most MAX_NAME_BYTES keeping the extension.
 * Returns `fallback` when nothing usable is left.
 */
export function safeFileName(untrusted: string | null, fallback: string, maxBytes = MAX_NAME_BYTES): string {
  let name = (untrusted ?? '').normalize('NFC');
  const segments = name.split(/[/\\]/);
  name = segments[segments.length - 1];
  name = name.replace(/^[A-Za-z]:/, '');
  name = name.replace(UNSAFE_CHARS, '_');
  name = name.replace(/^[\s.]+|[\s.]+$/gu, '');
  if (!name || /^_+$/.test(name)) name = fallback;
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  if (RESERVED.test(stem.split('.')[0].trim())) name = `_${name}`;
  return shorten(name, maxBytes);
}

/** Keeps the extension (when short) and cuts the stem so the whole fits `maxBytes`. */
export function shorten(name: string, maxBytes: number): string {
  if (utf8Length(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && utf8Length(name.slice(dot)) <= MAX_EXTENSION_BYTES ? name.slice(dot) : '';
  const stem = extension ? name.slice(0, dot) : name;
  return cutBytes(stem, maxBytes - utf8Length(extension)).replace(/[\s.]+$/u, '') + extension;
}

/** `name (2).ext`, `name (3).ext`, ... for the n-th name that collides; stays within the byte cap. */
export function withSuffix(name: string, n: number, maxBytes = MAX_NAME_BYTES): string {
  if (n <= 1) return name;
  const suffix = ` (${n})`;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot) : '';
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const room = maxBytes - utf8Length(suffix) - utf8Length(extension);
  return cutBytes(stem, Math.max(1, room)) + suffix + extension;
}

/** A short slug of a subject for file names: letters and digits of any script, joined by `-`. */
export function subjectSlug(subject: string | null, maxChars = 40): string {
  const words = (subject ?? '').normalize('NFC').match(/[\p{L}\p{N}]+/gu) ?? [];
  let slug = '';
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word;
    if ([...next].length > maxChars) {
      if (!slug) slug = [...word].slice(0, maxChars).join('');
      break;
    }
    slug = next;
  }
  return slug || 'no-subject';
}
