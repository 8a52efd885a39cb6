/**
 * The combination report: one row per attempted combination, with the rule,
 * both ends' parameters, what the rule expected and what happened, in
 * reports/matrix.json, reports/matrix.md and reports/matrix.html.
 * Reports hold labels (profile names) for files, never file contents: no
 * private key can end up in a report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unmatchedDeviations } from '../deviations';
import { describeExpectation } from '../expectation';
import type { Outcome } from '../outcome/vocabulary';
import type { Check } from '../pairs';
import type { Chosen, Missing } from '../peers/registry';
import type { CertificateSummary } from '../peers/types';
import { findRule } from '../rules';
import type { ObserverSummary } from './attempt-record';
import { gridHtml } from './grid';
import { html, SYMBOL } from './marks';
import { RULES_DOC } from './rules-doc';
import type { ScenarioResult } from './run-collector';

export const MATRIX_SCHEMA_VERSION = 1;

export type RowVerdict = 'as expected' | 'expected deviation' | 'violated' | 'not checked' | 'not supported' | 'broken input' | 'harness error';

export interface MatrixRow {
  readonly rules: readonly string[];
  readonly scenario: string;
  readonly location: string;
  readonly server: { readonly implementation: string; readonly version: string; readonly settings: Record<string, string> };
  readonly client: { readonly implementation: string; readonly version: string; readonly settings: Record<string, string> };
  readonly expected: string;
  readonly actual: string;
  readonly verdict: RowVerdict;
  readonly checks: readonly Check[];
  readonly outcome: Omit<Outcome, 'evidence' | 'serverCertificate' | 'clientCertificate'> | null;
  readonly evidence: Outcome['evidence'] | null;
  /** What a passive observer saw, and what the server's key decrypted, where the scenario had one. */
  readonly observer?: ObserverSummary;
  /** The certificates each end presented (subject, issuer, validity, subjectAltName; never a key). */
  readonly certificates: { readonly server: CertificateSummary | null; readonly client: CertificateSummary | null };
  readonly durationMs: number | null;
}

export interface Matrix {
  readonly schemaVersion: number;
  readonly generatedAt: string;
  /** The implementations of the run, with versions; the missing ones with how to install them. */
  readonly implementations: { readonly servers: readonly Chosen[]; readonly clients: readonly Chosen[]; readonly missing: readonly Missing[] };
  /** Scenarios that ran for no pair of this run, and why. */
  readonly skipped: readonly { readonly scenario: string; readonly location: string; readonly why: string }[];
  /** Listed deviations whose expectation held: they no longer happen. */
  readonly staleDeviations: readonly { readonly id: string; readonly server: string; readonly client: string; readonly location: string }[];
  /**
   * Listed deviations that match no expectation of this run (on a pair and a rule the run had): they replace
   * nothing, and should be corrected or removed. Not judged for a single shard.
   */
  readonly unmatchedDeviations: readonly { readonly id: string; readonly server: string; readonly client: string; readonly instead_of: string }[];
  readonly summary: {
    readonly combinations: number;
    readonly connected: number;
    readonly disconnected: number;
    readonly serverRejectedClient: number;
    readonly clientRejectedServer: number;
    readonly asExpected: number;
    readonly deviations: number;
    readonly violated: number;
    /** Cells an end could not run or answer (a setting or an observation it does not have): –, with the reason. */
    readonly notSupported: number;
  };
  readonly rows: readonly MatrixRow[];
  /** A `--shard i/n` run: the shard it ran (its rows are the combinations of that shard only). */
  readonly shard?: { readonly index: number; readonly count: number };
  /** A merge of shard runs (`conformance merge`): how many shards there are, which were merged, which are missing. */
  readonly shards?: { readonly count: number; readonly merged: readonly number[]; readonly missing: readonly number[] };
}

const VERDICT_OF: Record<string, RowVerdict> = { violation: 'violated', input: 'broken input', harness: 'harness error' };

export function buildMatrix(
  results: readonly ScenarioResult[],
  implementations: Matrix['implementations'] = { servers: [], clients: [], missing: [] },
  now = new Date(),
): Matrix {
  const rows: MatrixRow[] = [];
  const skipped: Matrix['skipped'][number][] = [];
  for (const result of results) {
    if (result.skipped) {
      skipped.push({ scenario: result.name, location: `${result.uri}:${result.line}`, why: 'it is about implementations this run does not include' });
    }
    for (const attempt of result.attempts) {
      const { evidence, serverCertificate, clientCertificate, ...outcome } = attempt.outcome ?? ({} as Outcome);
      rows.push({
        rules: result.ruleIds,
        scenario: result.name,
        location: `${result.uri}:${result.line}`,
        server: attempt.server,
        client: attempt.client,
        expected: attempt.checks.map((c) => c.expected).join('; ') || '(nothing asserted)',
        actual: attempt.actual,
        verdict: result.failure && result.failure.kind !== 'violation' ? VERDICT_OF[result.failure.kind]! : attempt.verdict,
        checks: attempt.checks,
        outcome: attempt.outcome ? outcome : null,
        evidence: attempt.outcome ? evidence : null,
        ...(attempt.observer ? { observer: attempt.observer } : {}),
        certificates: { server: serverCertificate ?? null, client: clientCertificate ?? null },
        durationMs: attempt.outcome?.durationMs ?? null,
      });
    }
  }
  return matrixOfRows(rows, implementations, skipped, now);
}

/** Settings as the reports name them, keyed "server.certfile". */
function prefixed(end: string, settings: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).map(([k, v]) => [`${end}.${k}`, v]));
}

/** A matrix of these rows: the summary and the stale deviations are computed from the rows (a run's, or merged shards'). */
export function matrixOfRows(rows: readonly MatrixRow[], implementations: Matrix['implementations'], skipped: Matrix['skipped'], now = new Date()): Matrix {
  const staleDeviations: Matrix['staleDeviations'][number][] = [];
  for (const row of rows) {
    for (const check of row.checks) {
      if (check.staleDeviation) staleDeviations.push({ id: check.staleDeviation, server: row.server.implementation, client: row.client.implementation, location: row.location });
    }
  }
  const count = (predicate: (row: MatrixRow) => boolean): number => rows.filter(predicate).length;
  const checks = rows.flatMap((row) => {
    const settings = { ...prefixed('server', row.server.settings), ...prefixed('client', row.client.settings) };
    return row.checks.map((check) => ({ rules: row.rules, server: row.server.implementation, client: row.client.implementation, expectation: check.expectation, settings }));
  });
  const run = { servers: implementations.servers.map((s) => s.name), clients: implementations.clients.map((c) => c.name), rules: [...new Set(rows.flatMap((row) => row.rules))] };
  const unmatched = unmatchedDeviations(checks, run).map((d) => ({ id: d.id, server: [d.server].flat().join(', '), client: [d.client].flat().join(', '), instead_of: d.instead_of.map(describeExpectation).join('; ') }));
  return {
    schemaVersion: MATRIX_SCHEMA_VERSION,
    generatedAt: now.toISOString(),
    implementations,
    skipped,
    staleDeviations,
    unmatchedDeviations: unmatched,
    summary: {
      combinations: rows.length,
      connected: count((r) => r.outcome?.connected === true),
      disconnected: count((r) => r.outcome?.connected !== true),
      serverRejectedClient: count((r) => r.outcome?.verdict === 'server rejected client'),
      clientRejectedServer: count((r) => r.outcome?.verdict === 'client rejected server'),
      asExpected: count((r) => r.verdict === 'as expected'),
      deviations: count((r) => r.verdict === 'expected deviation'),
      violated: count((r) => r.verdict === 'violated'),
      notSupported: count((r) => r.verdict === 'not supported'),
    },
    rows,
  };
}

function settingsText(settings: Record<string, string>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function actualShort(row: MatrixRow): string {
  const o = row.outcome;
  if (!o) return row.actual;
  if (o.connected) return `connected (HTTP ${o.httpStatus}, ${o.protocol})${o.insecure ? ', insecure' : ''}`;
  return `${o.verdict}: ${o.reason}, at ${o.phase}${o.alert ? `, alert ${o.alert.code}` : ', no alert'}`;
}

function deviationNote(row: MatrixRow): string {
  const reasons = [...new Set(row.checks.filter((c) => c.deviation).map((c) => `${c.deviation!.id}: ${c.deviation!.reason}`))];
  return reasons.join(' ');
}

/** Compact enough for a pull-request comment: a table per pair, then only what needs a look. */
export function matrixMarkdown(matrix: Matrix, changes: ReadonlyMap<MatrixRow, string> = new Map()): string {
  const s = matrix.summary;
  const escape = (text: string): string => text.replace(/\|/g, '\\|');
  const pairs = new Map<string, MatrixRow[]>();
  for (const row of matrix.rows) pairs.set(`${row.server.implementation} × ${row.client.implementation}`, [...(pairs.get(`${row.server.implementation} × ${row.client.implementation}`) ?? []), row]);
  const count = (rows: MatrixRow[], verdict: RowVerdict): number => rows.filter((r) => r.verdict === verdict).length;
  const attention = matrix.rows.filter((r) => r.verdict !== 'as expected' && r.verdict !== 'expected deviation' && r.verdict !== 'not supported');
  return [
    '# TLS conformance',
    '',
    `${s.combinations} combinations: ${s.connected} connected, ${s.disconnected} disconnected; ${s.asExpected} ✔ as expected, ${s.deviations} ≈ expected deviations, ${s.violated} ✘ violated, ${s.notSupported ?? 0} – not supported by an end.`,
    '',
    ...(matrix.shard ? [`Shard ${matrix.shard.index}/${matrix.shard.count}: this report has only this shard's combinations (\`conformance merge\` joins the shards).`, ''] : []),
    ...(matrix.shards ? [`Merged shards ${matrix.shards.merged.join(', ')} of ${matrix.shards.count}${matrix.shards.missing.length ? `; **missing: ${matrix.shards.missing.join(', ')}**, whose combinations are not in this report` : ''}.`, ''] : []),
    '| server × client | ✔ | ≈ | ✘ | – | ⚠ | Δ |',
    '|---|---|---|---|---|---|---|',
    ...[...pairs].map(([pair, rows]) => `| ${pair} | ${count(rows, 'as expected')} | ${count(rows, 'expected deviation')} | ${count(rows, 'violated')} | ${count(rows, 'not supported')} | ${count(rows, 'broken input') + count(rows, 'harness error')} | ${rows.filter((r) => changes.has(r)).length} |`),
    '',
    ...matrix.implementations.missing.map((m) => `Skipped ${m.end} ${m.name}: ${m.hint}.`),
    ...matrix.staleDeviations.map((d) => `Deviation ${d.id} no longer happens for ${d.server} × ${d.client} (${d.location}).`),
    ...matrix.unmatchedDeviations.map((d) => `Deviation ${d.id} matches no expectation of this run (${d.server} × ${d.client}, instead of ${d.instead_of}).`),
    ...(attention.length ? ['', '**Violated or broken**', '', '| | rule | pair | expected | actual |', '|---|---|---|---|---|', ...attention.slice(0, 50).map((r) => `| ${SYMBOL[r.verdict]} | ${r.rules.join(' ')} | ${r.server.implementation} × ${r.client.implementation} | ${escape(r.expected)} | ${escape(r.actual)} |`), ...(attention.length > 50 ? [`… and ${attention.length - 50} more in matrix.json`] : [])] : []),
    ...(changes.size ? ['', '**Changed since the compared run**', '', ...[...changes].slice(0, 50).map(([r, was]) => `- ${r.location} ${r.server.implementation} × ${r.client.implementation}: ${escape(was)} → ${escape(r.actual)}`)] : []),
    '',
    'Every cell, with both ends\' evidence: `reports/index.html`; data: `reports/matrix.json`.',
    '',
  ].join('\n');
}

/** The full table, one row per combination and pair (reports/matrix-full.md). */
export function matrixFullMarkdown(matrix: Matrix): string {
  const s = matrix.summary;
  const escape = (text: string): string => text.replace(/\|/g, '\\|');
  const lines = [
    '# TLS conformance: combinations',
    '',
    `${s.combinations} combinations: ${s.connected} connected, ${s.disconnected} disconnected ` +
      `(${s.serverRejectedClient} server rejected client, ${s.clientRejectedServer} client rejected server); ` +
      `${s.asExpected} as expected, ${s.deviations} expected deviations, ${s.violated} violated.`,
    '',
    `Servers: ${matrix.implementations.servers.map((i) => `${i.name} (${i.version})`).join('; ')}.`,
    `Clients: ${matrix.implementations.clients.map((i) => `${i.name} (${i.version})`).join('; ')}.`,
    ...matrix.implementations.missing.map((m) => `Skipped ${m.end} ${m.name}: ${m.hint}.`),
    ...matrix.staleDeviations.map((d) => `Deviation ${d.id} no longer happens for ${d.server} × ${d.client} (${d.location}).`),
    ...matrix.unmatchedDeviations.map((d) => `Deviation ${d.id} matches no expectation of this run (${d.server} × ${d.client}, instead of ${d.instead_of}).`),
    '',
    '| | rule | server | client | expected | actual | ms |',
    '|---|---|---|---|---|---|---|',
    ...matrix.rows.map(
      (row) =>
        `| ${SYMBOL[row.verdict]} | ${row.rules.map((id) => `[${id}](../${RULES_DOC}#${id})`).join(' ')} | ${escape(`${row.server.implementation}: ${settingsText(row.server.settings)}`)} | ` +
        `${escape(`${row.client.implementation}: ${settingsText(row.client.settings)}`)} | ${escape(row.expected)} | ${escape(actualShort(row))}${row.verdict === 'expected deviation' ? escape(` (deviation: ${row.checks.find((c) => c.deviation)?.deviation?.id})`) : ''} | ${row.durationMs ?? ''} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

export function matrixHtml(matrix: Matrix): string {
  const s = matrix.summary;
  const rows = matrix.rows
    .map((row) => {
      const cls = row.verdict === 'as expected' ? 'ok' : row.verdict === 'expected deviation' ? 'deviation' : row.verdict === 'violated' ? 'bad' : row.verdict === 'not supported' ? 'skip' : 'broken';
      const titles = row.rules.map((id) => `${id}: ${findRule(id)?.title ?? ''}`).join('\n');
      const evidence = row.evidence
        ? JSON.stringify(
            {
              client: { socketError: row.evidence.client.socketError, requestError: row.evidence.client.requestError },
              server: { rejection: row.evidence.server.rejection, verificationError: row.evidence.server.verificationError, errors: row.evidence.server.errors },
              ...(row.observer ? { observer: row.observer } : {}),
            },
            null,
            1,
          )
        : '';
      const ruleLinks = row.rules.map((id) => `<a href="../${RULES_DOC}#${html(id)}">${html(id)}</a>`).join('<br>');
      return `<tr class="${cls}"><td>${SYMBOL[row.verdict]} ${html(row.verdict)}</td><td title="${html(titles)}">${ruleLinks}</td>
<td>${html(row.server.implementation)}<br><small>${html(settingsText(row.server.settings))}</small></td>
<td>${html(row.client.implementation)}<br><small>${html(settingsText(row.client.settings))}</small></td>
<td>${html(row.expected)}</td><td>${html(actualShort(row))}${row.verdict === 'expected deviation' ? `<br><small>${html(deviationNote(row))}</small>` : ''}<details><summary>evidence</summary><pre>${html(row.actual)}\n${html(evidence)}</pre></details></td>
<td>${row.durationMs ?? ''}</td><td><small>${html(row.location)}</small></td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TLS conformance: combinations</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
tr.ok td:first-child{background:#d9f2d9}tr.deviation td:first-child{background:#dde8f7}tr.bad td:first-child{background:#f7d4d4}tr.broken td:first-child{background:#fff0c2}
pre{white-space:pre-wrap;font-size:12px;max-width:60em}small{color:#444}
</style></head><body>
<h1>TLS conformance: combinations</h1>
<p>${s.combinations} combinations: ${s.connected} connected, ${s.disconnected} disconnected (${s.serverRejectedClient} server rejected client, ${s.clientRejectedServer} client rejected server); ${s.asExpected} as expected, ${s.deviations} expected deviations, ${s.violated} violated. Generated ${html(matrix.generatedAt)}.</p>
<p>Servers: ${html(matrix.implementations.servers.map((i) => `${i.name} (${i.version})`).join('; '))}<br>Clients: ${html(matrix.implementations.clients.map((i) => `${i.name} (${i.version})`).join('; '))}</p>
${matrix.implementations.missing.map((m) => `<p>Skipped ${html(m.end)} ${html(m.name)}: ${html(m.hint)}</p>`).join('\n')}
${matrix.staleDeviations.map((d) => `<p>Deviation ${html(d.id)} no longer happens for ${html(d.server)} × ${html(d.client)} (${html(d.location)}).</p>`).join('\n')}
${matrix.unmatchedDeviations.map((d) => `<p>Deviation ${html(d.id)} matches no expectation of this run (${html(d.server)} × ${html(d.client)}, instead of ${html(d.instead_of)}).</p>`).join('\n')}
<table><thead><tr><th>verdict</th><th>rule</th><th>server</th><th>client</th><th>expected</th><th>actual</th><th>ms</th><th>scenario</th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>
`;
}

/** The key of a cell: the combination (scenario or Examples row) and the pair. */
export function cellKey(row: Pick<MatrixRow, 'location' | 'server' | 'client'>): string {
  return `${row.location} ${row.server.implementation} ${row.client.implementation}`;
}

/**
 * What `--compare` compares of a cell: its outcome, never text. The row's
 * verdict, and the outcome's verdict, who ended it, reason, phase, alert and
 * the negotiated protocol version, cipher suite and ALPN protocol; for a peer
 * that refused its configuration (no outcome), the field it named. Raw
 * evidence and messages (which carry library versions, ports, timings) are shown, not compared.
 * An alert is what one end received: an end that gave up before reading it
 * (the refusing end's close raced its read) saw none although it was sent, so
 * an alert seen in one run and not in the other is not a change; two
 * different alerts are (alertSeenOnce counts the first kind).
 */
export function cellOutcome(row: MatrixRow): Record<string, string | number | null> {
  const o = row.outcome;
  if (!o) return { verdict: row.verdict, refused: refusedField(row.actual) };
  return {
    verdict: row.verdict,
    outcome: o.verdict,
    endedBy: o.endedBy ?? null,
    reason: o.reason ?? null,
    phase: o.phase ?? null,
    alert: o.alert ? `${o.alert.code} from the ${o.alert.sentBy}` : null,
    protocol: o.protocol ?? null,
    cipher: o.cipher ?? null,
    alpn: o.alpn === undefined ? 'not reported' : o.alpn,
  };
}

/** "server refused its configuration: ciphers: ERR_SSL_…" → "ciphers" (the word before the second colon); null for any other text. */
export function refusedField(actual: string): string | null {
  const match = /^[^:]*refused its configuration: ([^:]*):/.exec(actual);
  return match ? match[1]!.replace(/ \(.*\)$/, '').trim() : null;
}

/** Cells whose outcome (cellOutcome) differs from the same combination and pair in an earlier matrix.json: what it was. */
export function compareMatrices(current: Matrix, previous: Matrix): Map<MatrixRow, string> {
  const summary = (r: MatrixRow): string => (r.outcome ? `${r.outcome.verdict} ${r.outcome.reason ?? ''} ${r.outcome.phase ?? ''}`.trim() : r.actual);
  const before = new Map(previous.rows.map((r) => [cellKey(r), r]));
  const changes = new Map<MatrixRow, string>();
  for (const row of current.rows) {
    const old = before.get(cellKey(row));
    if (!old) continue;
    const was = cellOutcome(old);
    const now = cellOutcome(row);
    const differ = [...new Set([...Object.keys(was), ...Object.keys(now)])].filter((field) => was[field] !== now[field] && !(field === 'alert' && (was.alert === null || now.alert === null)));
    if (differ.length === 0) continue;
    // The display text, and what changed that it does not show.
    const hidden = differ.filter((field) => old.outcome && row.outcome && !['verdict', 'outcome', 'reason', 'phase'].includes(field));
    changes.set(row, `${old.verdict}: ${summary(old)}${hidden.length ? ` (${hidden.map((field) => `${field} ${was[field] ?? 'none'}`).join(', ')})` : ''}`);
  }
  return changes;
}

/** Unchanged cells (not in `changes`) where one run saw an alert and the other saw none: see cellOutcome. */
export function alertSeenOnce(current: Matrix, previous: Matrix, changes: ReadonlyMap<MatrixRow, string>): number {
  const before = new Map(previous.rows.map((r) => [cellKey(r), r]));
  return current.rows.filter((row) => {
    const old = before.get(cellKey(row));
    return !changes.has(row) && old?.outcome && row.outcome && !old.outcome.alert !== !row.outcome.alert;
  }).length;
}

export function writeMatrix(dir: string, matrix: Matrix, changes: ReadonlyMap<MatrixRow, string> = new Map()): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'matrix.json'), JSON.stringify(changes.size ? { ...matrix, changed: [...changes].map(([r, was]) => ({ location: r.location, server: r.server.implementation, client: r.client.implementation, was, now: r.actual })) } : matrix, null, 2) + '\n');
  writeFileSync(join(dir, 'matrix.md'), matrixMarkdown(matrix, changes));
  writeFileSync(join(dir, 'matrix-full.md'), matrixFullMarkdown(matrix));
  writeFileSync(join(dir, 'matrix.html'), matrixHtml(matrix));
  writeFileSync(join(dir, 'index.html'), gridHtml(matrix, changes));
}
