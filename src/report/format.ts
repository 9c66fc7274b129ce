/**
 * Small formatters shared by the reporters. Every one returns escaped text: input from the
 * capture never leaves here raw.
 */
import type { Endpoint } from '../tcp/stream.js';
import { escapeForTerminal } from './escape.js';

/** `ip:port`, IPv6 in brackets so the port stays readable. */
export function formatEndpoint(endpoint: Endpoint): string {
  const ip = escapeForTerminal(endpoint.ip);
  return endpoint.ip.includes(':') ? `[${ip}]:${endpoint.port}` : `${ip}:${endpoint.port}`;
}

export function formatFlow(client: Endpoint, server: Endpoint): string {
  return `${formatEndpoint(client)} → ${formatEndpoint(server)}`;
}

const ISO = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:Z|[+-]\d{2}:?\d{2})?$/;

/**
 * `2026-11-30 12:00:01.123456` from an ISO string, by text surgery so the capture's precision
 * (µs or ns) is kept exactly; anything else is shown escaped as it is.
 */
export function compactTimestamp(iso: string): string {
  const m = ISO.exec(iso);
  return m ? `${m[1]} ${m[2]}` : escapeForTerminal(iso);
}

/** `12:00:01.123456`: the time of day of an ISO string, all its sub-second digits. */
export function timeOfDay(iso: string): string {
  const m = ISO.exec(iso);
  return m ? m[2] : escapeForTerminal(iso);
}

/**
 * At most `max` code points of `text` (the last one an ellipsis when cut), then escaped. Cutting
 * before escaping never splits an escape sequence or a surrogate pair.
 */
export function truncateEscaped(text: string, max: number): string {
  const points = Array.from(text);
  const cut = points.length > max ? `${points.slice(0, max - 1).join('')}…` : text;
  return escapeForTerminal(cut);
}

/** The null sender is the empty address; show it as SMTP writes it. */
export function formatSender(address: string): string {
  return address === '' ? '<>' : address;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
