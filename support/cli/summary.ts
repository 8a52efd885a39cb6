/** The one screen printed at the end of a run. */
import type { Matrix } from '../report/matrix';
import type { ScenarioResult } from '../report/run-collector';

/** Prints violations and the summary; returns whether any rule was violated. */
export function printSummary(out: NodeJS.WritableStream, results: readonly ScenarioResult[], matrix: Matrix, reports: string, wallMs: number): boolean {
  const held = new Set<string>();
  const violated = new Set<string>();
  for (const result of results) {
    if (result.skipped) continue;
    for (const id of result.ruleIds) (result.passed ? held : violated).add(id);
  }
  for (const id of violated) held.delete(id);

  for (const result of results.filter((r) => r.failure?.kind === 'violation')) {
    out.write(`\n✘ ${result.failure!.where}  ${result.name}\n`);
    out.write(result.failure!.message.split('\n').map((line) => `  ${line}`).join('\n') + '\n');
  }

  const s = matrix.summary;
  const lines = ['', 'pair (server × client)                 combinations  connected  disconnected  deviations  violated'];
  const pairs = new Map<string, Matrix['rows'][number][]>();
  // In the run's order of implementations: servers, then clients.
  for (const server of matrix.implementations.servers) {
    for (const client of matrix.implementations.clients) pairs.set(`${server.name} × ${client.name}`, []);
  }
  for (const row of matrix.rows) {
    const key = `${row.server.implementation} × ${row.client.implementation}`;
    pairs.set(key, [...(pairs.get(key) ?? []), row]);
  }
  for (const [pair, rows] of pairs) {
    if (rows.length === 0) continue;
    const count = (predicate: (row: Matrix['rows'][number]) => boolean): string => String(rows.filter(predicate).length);
    lines.push(
      `${pair.padEnd(38)} ${String(rows.length).padStart(12)}  ${count((r) => r.outcome?.connected === true).padStart(9)}  ` +
        `${count((r) => r.outcome?.connected !== true).padStart(12)}  ${count((r) => r.verdict === 'expected deviation').padStart(10)}  ${count((r) => r.verdict === 'violated').padStart(8)}`,
    );
  }
  lines.push('');
  for (const chosen of matrix.implementations.servers) lines.push(`server ${chosen.name}: ${chosen.version}`);
  for (const chosen of matrix.implementations.clients) lines.push(`client ${chosen.name}: ${chosen.version}`);
  for (const missing of matrix.implementations.missing) lines.push(`skipped ${missing.end} ${missing.name}: ${missing.hint}`);
  for (const stale of matrix.staleDeviations) lines.push(`deviation ${stale.id} no longer happens for ${stale.server} × ${stale.client} (${stale.location})`);
  for (const d of matrix.unmatchedDeviations ?? []) lines.push(`deviation ${d.id} matches no expectation of this run (${d.server} × ${d.client}, instead of ${d.instead_of}): correct or remove it in features/deviations.json`);
  const skipped = results.filter((r) => r.skipped).length;
  lines.push(
    `rules: ${held.size} held, ${violated.size} violated${violated.size ? `: ${[...violated].join(', ')}` : ''}`,
    `combinations: ${s.combinations} attempted: ${s.connected} connected, ${s.disconnected} disconnected ` +
      `(${s.serverRejectedClient} server rejected client, ${s.clientRejectedServer} client rejected server); ${s.deviations} expected deviations; ` +
      `${s.notSupported ?? 0} not supported by an end (–, with the implementation and the setting)`,
    `reports: ${reports}/matrix.html, matrix.md, matrix.json, cucumber.html, cucumber.junit.xml, cucumber.ndjson`,
    `time: ${(wallMs / 1000).toFixed(1)} s`,
    `scenarios: ${results.filter((r) => r.passed).length - skipped} passed, ${results.filter((r) => !r.passed).length} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
  out.write(lines.join('\n') + '\n');
  return violated.size > 0;
}
