/**
 * `npm run conformance -- merge a/matrix.json b/matrix.json … --reports out`:
 * join the matrix.json of `--shard i/n` runs into the report of the whole
 * grid, written by the same writer as a run (matrix.json, matrix.md,
 * matrix-full.md, matrix.html, index.html). The summary, the skipped
 * scenarios and the stale deviations are computed again from the rows; the
 * implementations are the union of the shards'.
 *
 * Exit status: 2 when an input is broken (unreadable, not a matrix, shards of
 * different n, a shard twice, a combination in two files) or a shard's row
 * is broken input or a harness error; else 1 when a row is violated; else 0.
 * A missing shard is a warning, and the merged matrix lists it.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { errorText } from '../errors';
import type { Chosen, Missing } from '../peers/registry';
import { alertSeenOnce, cellKey, compareMatrices, MATRIX_SCHEMA_VERSION, matrixOfRows, writeMatrix, type Matrix, type MatrixRow } from '../report/matrix';
import type { Io } from './run';

export const MERGE_USAGE = 'Usage: npm run conformance -- merge <shard>/matrix.json ... [--reports <dir>] [--compare <file>]';

class BrokenInput extends Error {}

/** What --compare found, in one line. */
export function compareLine(file: string, changed: number, alertOnce: number): string {
  return (
    `compared with ${file}: ${changed} cell${changed === 1 ? '' : 's'} changed${changed ? ', listed in matrix.md and marked Δ in index.html' : ''}` +
    (alertOnce ? `; in ${alertOnce} more, one run saw the refusing end's alert and the other did not (read or lost to the close: not a change)` : '')
  );
}

/** A matrix.json as a run writes it, or why the file is not one. */
export function readMatrix(file: string): Matrix {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new BrokenInput(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? errorText(error)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new BrokenInput(`${file}: not JSON (${errorText(error).split('\n')[0]})`);
  }
  const why = notAMatrix(data);
  if (why) throw new BrokenInput(`${file}: not a matrix.json of this harness (${why})`);
  return data as Matrix;
}

function notAMatrix(data: unknown): string | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not an object';
  const m = data as Record<string, unknown>;
  if (typeof m.schemaVersion !== 'number') return 'no schemaVersion';
  if (m.schemaVersion > MATRIX_SCHEMA_VERSION) return `schemaVersion ${m.schemaVersion} is newer than this harness's ${MATRIX_SCHEMA_VERSION}`;
  if (!Array.isArray(m.rows)) return 'no rows';
  const implementations = m.implementations as Record<string, unknown> | undefined;
  if (!implementations || !Array.isArray(implementations.servers) || !Array.isArray(implementations.clients)) return 'no implementations';
  const bad = (m.rows as unknown[]).findIndex((row) => {
    const r = row as Record<string, Record<string, unknown> | unknown> | null;
    return !r || typeof r.location !== 'string' || typeof r.verdict !== 'string' || typeof (r.server as Record<string, unknown> | undefined)?.implementation !== 'string' || typeof (r.client as Record<string, unknown> | undefined)?.implementation !== 'string' || !Array.isArray(r.checks);
  });
  if (bad >= 0) return `rows[${bad}] is not a combination row`;
  if (m.shard !== undefined) {
    const s = m.shard as Record<string, unknown>;
    if (!Number.isInteger(s?.index) || !Number.isInteger(s?.count) || (s.index as number) < 1 || (s.index as number) > (s.count as number)) return 'shard is not { index, count } with 1 ≤ index ≤ count';
  }
  if (m.shards !== undefined) {
    const s = m.shards as Record<string, unknown>;
    if (!Number.isInteger(s?.count) || !Array.isArray(s?.merged)) return 'shards is not { count, merged, missing }';
  }
  return null;
}

/** Which shards of how many a matrix holds: a shard run's one, a merge's merged ones, an unsharded run is all of 1. */
function shardsOf(matrix: Matrix): { count: number; indices: number[]; text: string } {
  if (matrix.shard) return { count: matrix.shard.count, indices: [matrix.shard.index], text: `shard ${matrix.shard.index}/${matrix.shard.count}` };
  if (matrix.shards) return { count: matrix.shards.count, indices: [...matrix.shards.merged], text: `shards ${matrix.shards.merged.join(', ')} of ${matrix.shards.count}` };
  return { count: 1, indices: [1], text: 'an unsharded run' };
}

interface MergeArgs {
  readonly files: string[];
  readonly reports: string;
  readonly compare: string | null;
  readonly help: boolean;
}

function parseMergeArgs(argv: readonly string[]): MergeArgs {
  const files: string[] = [];
  const values = new Map<string, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      files.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--help') help = true;
    else if (flag === '--reports' || flag === '--compare') {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new BrokenInput(`option ${flag} needs a value (${MERGE_USAGE})`);
      values.set(flag, value);
    } else throw new BrokenInput(`unknown option ${flag} for merge (${MERGE_USAGE})`);
  }
  return { files, reports: values.get('--reports') ?? 'reports', compare: values.get('--compare') ?? null, help };
}

export interface Merged {
  readonly matrix: Matrix;
  readonly warnings: readonly string[];
}

/** Join shard matrices (already read; `names` say which file each came from). Throws a one-line error for inputs that do not fit together. */
export function mergeMatrices(inputs: readonly { readonly name: string; readonly matrix: Matrix }[], now = new Date()): Merged {
  if (inputs.length === 0) throw new BrokenInput(`name the matrix.json of each shard (${MERGE_USAGE})`);
  const warnings: string[] = [];
  const described = inputs.map((input) => ({ ...input, shards: shardsOf(input.matrix) }));
  const count = described[0]!.shards.count;
  const mixed = described.find((d) => d.shards.count !== count);
  if (mixed) throw new BrokenInput(`mixed shard counts: ${described[0]!.name} is ${described[0]!.shards.text}, ${mixed.name} is ${mixed.shards.text}`);
  const owner = new Map<number, string>();
  for (const d of described) {
    for (const index of d.shards.indices) {
      const first = owner.get(index);
      if (first !== undefined) throw new BrokenInput(`shard ${index}/${count} given twice: ${first} and ${d.name}`);
      owner.set(index, d.name);
    }
  }
  const merged = [...owner.keys()].sort((a, b) => a - b);
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((index) => !owner.has(index));
  // A merged input may itself lack shards: those are missing here too, unless another input has them.
  if (missing.length) warnings.push(`shard${missing.length === 1 ? '' : 's'} ${missing.map((i) => `${i}/${count}`).join(', ')} missing: ${missing.length === 1 ? 'its' : 'their'} combinations are not in the merged report`);

  const rows: MatrixRow[] = [];
  const rowOwner = new Map<string, string>();
  for (const { name, matrix } of described) {
    for (const row of matrix.rows) {
      const key = cellKey(row);
      const first = rowOwner.get(key);
      if (first !== undefined) throw new BrokenInput(`${row.location} ${row.server.implementation} × ${row.client.implementation} is in two inputs: ${first} and ${name}`);
      rowOwner.set(key, name);
      rows.push(row);
    }
  }

  // The implementations: every input's, in the order first seen; one version per implementation.
  const servers = new Map<string, Chosen>();
  const clients = new Map<string, Chosen>();
  const missingImplementations = new Map<string, Missing>();
  for (const { name, matrix } of described) {
    for (const [end, list, into] of [['server', matrix.implementations.servers, servers], ['client', matrix.implementations.clients, clients]] as const) {
      for (const chosen of list) {
        const seen = into.get(chosen.name);
        if (!seen) into.set(chosen.name, chosen);
        else if (seen.version !== chosen.version) warnings.push(`${end} ${chosen.name} is ${seen.version} in one shard and ${chosen.version} in ${name}`);
      }
    }
    for (const m of matrix.implementations.missing ?? []) missingImplementations.set(`${m.end} ${m.name}`, m);
  }
  const present = (m: Missing): boolean => (m.end === 'server' ? servers : clients).has(m.name);
  const implementations: Matrix['implementations'] = {
    servers: [...servers.values()],
    clients: [...clients.values()],
    missing: [...missingImplementations.values()].filter((m) => !present(m)),
  };
  for (const m of missingImplementations.values()) {
    if (present(m)) warnings.push(`${m.end} ${m.name} was missing in some shard's run: the combinations it would have had there are not in the report`);
  }

  // Rows in the order of the catalog: feature file, line, then the run's order of servers and clients.
  const order = (names: Map<string, Chosen>) => new Map([...names.keys()].map((n, i) => [n, i]));
  const serverOrder = order(servers);
  const clientOrder = order(clients);
  const place = (row: MatrixRow): [string, number] => {
    const colon = row.location.lastIndexOf(':');
    return [row.location.slice(0, colon), Number(row.location.slice(colon + 1)) || 0];
  };
  rows.sort((a, b) => {
    const [fa, la] = place(a);
    const [fb, lb] = place(b);
    return (fa < fb ? -1 : fa > fb ? 1 : 0) || la - lb || serverOrder.get(a.server.implementation)! - serverOrder.get(b.server.implementation)! || clientOrder.get(a.client.implementation)! - clientOrder.get(b.client.implementation)!;
  });

  // A scenario skipped in one shard (no pair of the run for it) is skipped in the grid only if no shard ran it for a pair.
  const ran = new Set(rows.map((row) => row.location));
  const skipped = new Map<string, Matrix['skipped'][number]>();
  for (const { matrix } of described) {
    for (const s of matrix.skipped ?? []) if (!ran.has(s.location) && !skipped.has(s.location)) skipped.set(s.location, s);
  }
  const matrix: Matrix = { ...matrixOfRows(rows, implementations, [...skipped.values()], now), shards: { count, merged, missing } };
  return { matrix, warnings };
}

export async function runMerge(argv: readonly string[], io: Io): Promise<number> {
  const fail = (line: string): number => {
    io.stderr.write(`conformance merge: ${line}\n`);
    return 2;
  };
  let args: MergeArgs;
  let merged: Merged;
  let previous: Matrix | undefined;
  try {
    args = parseMergeArgs(argv);
    if (args.help) {
      io.stdout.write(`${MERGE_USAGE}\n`);
      return 0;
    }
    const inputs = args.files.map((file) => ({ name: file, matrix: readMatrix(file) }));
    merged = mergeMatrices(inputs);
    if (args.compare) previous = readMatrix(args.compare);
  } catch (error) {
    if (error instanceof BrokenInput) return fail(error.message);
    throw error;
  }
  for (const warning of merged.warnings) io.stderr.write(`conformance merge: warning: ${warning}\n`);
  const { matrix } = merged;
  const reports = resolve(args.reports);
  const changes = previous ? compareMatrices(matrix, previous) : new Map<MatrixRow, string>();
  writeMatrix(reports, matrix, changes);

  const s = matrix.summary;
  const shards = matrix.shards!;
  const violated = matrix.rows.filter((r) => r.verdict === 'violated');
  const broken = matrix.rows.filter((r) => r.verdict === 'broken input' || r.verdict === 'harness error');
  const lines = [
    `merged ${args.files.length} matrix.json: shard${shards.merged.length === 1 ? '' : 's'} ${shards.merged.join(', ')} of ${shards.count}${shards.missing.length ? ` (missing: ${shards.missing.join(', ')})` : ''}`,
    ...violated.slice(0, 20).map((r) => `✘ ${r.location}  ${r.server.implementation} × ${r.client.implementation}: expected ${r.expected}; actual ${r.actual}`),
    ...(violated.length > 20 ? [`… and ${violated.length - 20} more violated in matrix.md`] : []),
    `combinations: ${s.combinations}: ${s.connected} connected, ${s.disconnected} disconnected ` +
      `(${s.serverRejectedClient} server rejected client, ${s.clientRejectedServer} client rejected server); ${s.asExpected} as expected, ${s.deviations} expected deviations, ${s.violated} violated`,
    ...(previous ? [compareLine(args.compare!, changes.size, alertSeenOnce(matrix, previous, changes))] : []),
    `reports: ${relative(process.cwd(), reports) || '.'}/index.html, matrix.md, matrix-full.md, matrix.html, matrix.json`,
  ];
  io.stdout.write(lines.join('\n') + '\n');
  if (broken.length) {
    for (const line of new Set(broken.map((r) => `${r.location}: ${r.verdict} in the shard's run: ${r.actual.split('\n')[0]}`))) io.stderr.write(`conformance merge: ${line}\n`);
    return 2;
  }
  return violated.length ? 1 : 0;
}
