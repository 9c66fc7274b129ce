/**
 * The cli-table3 tables of the small reports (stats, creds), in one style. cli-table3 is loaded
 * on the first table drawn: `json` and `sessions` runs never draw one and keep the memory it
 * costs.
 */
import { createRequire } from 'node:module';
import type Table from 'cli-table3';
import type { Palette } from './colour.js';

type TableConstructor = typeof Table;

const load = createRequire(import.meta.url);
let tableConstructor: TableConstructor | null = null;

/** A table whose header cells are bold; cli-table3's own colour codes are switched off (we colour cells ourselves). */
export function newSmallTable(head: string[], palette: Palette): Table.Table {
  tableConstructor ??= load('cli-table3') as TableConstructor;
  return new tableConstructor({ head: head.map((h) => palette.bold(h)), style: { head: [], border: [] } });
}
