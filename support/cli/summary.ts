/** The one screen printed at the end of a run. */
import type { Matrix } from '../report/matrix';
import type { ScenarioResult } from '../report/run-collector';

/** Prints violations and the summary; returns whether any rule was violated. */
export function printSummary(out: NodeJS.WritableStream, results: readonly ScenarioResult[], matrix: Matrix, reports: string, wallMs: number): boolean {
  const held = new Set<string>();
  const violated = new Set<string>();
  for (const result of results) {
    for (const id of result.ruleIds) (result.passed ? held : violated).add(id);
  }
  for (const id of violated) held.delete(id);

  const failures = results.filter((r) => r.failure?.kind === 'violation');
  for (const result of failures) {
    out.write(`\n✘ ${result.failure!.where}  ${result.name}\n`);
    out.write(result.failure!.message.split('\n').map((line) => `  ${line}`).join('\n') + '\n');
  }

  const first = matrix.rows[0];
  const s = matrix.summary;
  const lines = [
    '',
    first ? `server: ${first.server.implementation} (${first.server.version}) · client: ${first.client.implementation} (${first.client.version})` : '',
    `rules: ${held.size} held, ${violated.size} violated${violated.size ? `: ${[...violated].join(', ')}` : ''}`,
    `combinations: ${s.combinations} attempted: ${s.connected} connected, ${s.disconnected} disconnected ` +
      `(${s.serverRejectedClient} server rejected client, ${s.clientRejectedServer} client rejected server)`,
    `reports: ${reports}/matrix.html, matrix.md, matrix.json, cucumber.html, cucumber.junit.xml, cucumber.ndjson`,
    `time: ${(wallMs / 1000).toFixed(1)} s`,
    `scenarios: ${results.filter((r) => r.passed).length} passed, ${results.filter((r) => !r.passed).length} failed`,
  ].filter((line) => line !== '');
  out.write(lines.join('\n') + '\n');
  return violated.size > 0;
}
