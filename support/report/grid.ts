/**
 * reports/index.html: the combination grid. One grid per rule group; a row
 * per parameter combination (a scenario, or an Examples row), a column per
 * implementation pair; each cell says what happened (connected, or who
 * disconnected, why and where) and how that compares with the rule, by symbol
 * and by colour. Filters by rule, implementation and verdict; a detail view
 * per cell. Self-contained: no network, opens from disk.
 */
import { findRule } from '../rules';
import type { Matrix, MatrixRow, RowVerdict } from './matrix';
import { html, SYMBOL } from './marks';
import { RULES_DOC } from './rules-doc';

type CellVerdict = RowVerdict | 'skipped';
const CLASS: Record<CellVerdict, string> = {
  'as expected': 'ok',
  'expected deviation': 'dev',
  violated: 'bad',
  'not checked': 'broken',
  'not supported': 'skip',
  'broken input': 'broken',
  'harness error': 'broken',
  skipped: 'skip',
};

const PHASE: Record<string, string> = { handshake: 'hs', 'first read': 'read', http: 'http' };

/** What a cell says in a few words: "● TLSv1.3", "S✕ certificate_required · read" (the legend explains). */
export function cellText(row: MatrixRow): string {
  const o = row.outcome;
  if (row.verdict === 'not supported') return 'not supported';
  if (!o) return row.actual.startsWith('server refused') ? 'config refused' : 'no outcome';
  if (o.connected) return `● ${o.protocol ?? ''}${o.insecure ? ' insecure' : ''}`.trim();
  const who = o.endedBy === 'server' ? 'S✕' : o.endedBy === 'client' ? 'C✕' : '✕';
  return `${who} ${o.reason} · ${PHASE[o.phase ?? ''] ?? o.phase}`;
}

export interface GridCell {
  readonly row: MatrixRow;
  readonly changed?: string;
}

function groupOf(row: MatrixRow): string {
  return row.rules[0]?.split('.')[0] ?? 'other';
}

export function gridHtml(matrix: Matrix, changes: ReadonlyMap<MatrixRow, string> = new Map()): string {
  const pairs = matrix.implementations.servers.flatMap((s) => matrix.implementations.clients.map((c) => `${s.name} × ${c.name}`));
  const details: Record<string, unknown> = {};
  const groups = new Map<string, Map<string, MatrixRow[]>>();
  for (const row of matrix.rows) {
    const group = groupOf(row);
    const combos = groups.get(group) ?? new Map<string, MatrixRow[]>();
    combos.set(row.location, [...(combos.get(row.location) ?? []), row]);
    groups.set(group, combos);
  }
  let cellId = 0;
  // What a row's cells share (scenario, rules, settings) is written once per row, not once per cell.
  const rowInfo: Record<string, unknown>[] = [];
  const sections: string[] = [];
  for (const [group, combos] of groups) {
    const body: string[] = [];
    for (const [location, rows] of combos) {
      const first = rows[0]!;
      const rowIndex = rowInfo.length;
      rowInfo.push({
        scenario: first.scenario,
        location: first.location,
        rules: first.rules.map((r) => ({ id: r, title: findRule(r)?.title ?? '', source: findRule(r)?.source ?? '' })),
        serverSettings: first.server.settings,
        clientSettings: first.client.settings,
      });
      const ruleLinks = first.rules.map((id) => `<a href="../${RULES_DOC}#${html(id)}" title="${html(findRule(id)?.title ?? '')} (${html(findRule(id)?.source ?? '')})">${html(id)}</a>`).join(' ');
      const cells = pairs.map((pair) => {
        const row = rows.find((r) => `${r.server.implementation} × ${r.client.implementation}` === pair);
        const [server, client] = pair.split(' × ');
        if (!row) {
          return `<td class="cell skip" data-verdict="skipped" data-server="${html(server!)}" data-client="${html(client!)}" title="not run for this pair: the scenario is about other implementations">–</td>`;
        }
        const id = `c${cellId++}`;
        const changed = changes.get(row);
        details[id] = {
          pair,
          row: rowIndex,
          verdict: row.verdict,
          expected: row.expected,
          actual: row.actual,
          // The checks' words, verdicts and deviations (their expectations as data are in matrix.json).
          checks: row.checks.map((c) => ({ expected: c.expected, verdict: c.verdict, ...(c.actual ? { actual: c.actual } : {}), ...(c.deviation ? { deviation: c.deviation } : {}) })),
          server: { implementation: row.server.implementation, version: row.server.version },
          client: { implementation: row.client.implementation, version: row.client.version },
          outcome: row.outcome,
          certificates: row.certificates,
          evidence: row.evidence
            ? {
                client: { socketError: row.evidence.client.socketError, requestError: row.evidence.client.requestError, endError: row.evidence.client.endError ?? null, response: row.evidence.client.response?.status ?? null },
                server: { rejection: row.evidence.server.rejection, verificationError: row.evidence.server.verificationError, errors: row.evidence.server.errors, requests: row.evidence.server.requests, effective: row.evidence.server.effective ?? null },
              }
            : null,
          observer: row.observer ?? null,
          durationMs: row.durationMs,
          changed: changed ?? null,
        };
        const verdict = row.verdict as CellVerdict;
        return `<td class="cell ${CLASS[verdict]}${changed ? ' changed' : ''}" id="${id}" data-verdict="${html(verdict)}" data-server="${html(server!)}" data-client="${html(client!)}" tabindex="0" title="${html(`${pair}: ${row.actual}`)}"><span class="sym">${SYMBOL[verdict]}</span> ${html(cellText(row))}${changed ? ' <span class="chg" title="changed since the compared run">Δ</span>' : ''}</td>`;
      });
      const settings = `<details><summary>settings</summary><small>server: ${html(Object.entries(first.server.settings).map(([k, v]) => `${k}=${v}`).join(' '))}<br>client: ${html(Object.entries(first.client.settings).map(([k, v]) => `${k}=${v}`).join(' '))}</small></details>`;
      body.push(
        `<tr data-rules="${html(first.rules.join(' '))}"><th scope="row" class="combo"><a href="../${html(location.replace(/:\d+$/, ''))}">${html(first.scenario)}</a><br><small>${html(location)}</small> ${ruleLinks}<br>${settings}</th>${cells.join('')}</tr>`,
      );
    }
    sections.push(`<section class="group" data-group="${html(group)}"><h2>${html(group)}</h2>
<div class="scroll"><table class="grid"><thead><tr><th>combination</th>${pairs.map((p) => `<th class="pair" data-server="${html(p.split(' × ')[0]!)}" data-client="${html(p.split(' × ')[1]!)}">${html(p)}</th>`).join('')}</tr></thead>
<tbody>${body.join('\n')}</tbody></table></div></section>`);
  }
  const s = matrix.summary;
  const ruleOptions = [...new Set(matrix.rows.flatMap((r) => r.rules))].sort().map((id) => `<option value="${html(id)}">${html(id)}</option>`).join('');
  const implementationOptions = [...matrix.implementations.servers.map((i) => `server:${i.name}`), ...matrix.implementations.clients.map((i) => `client:${i.name}`)]
    .map((v) => `<option value="${html(v)}">${html(v.replace(':', ' '))}</option>`)
    .join('');
  const verdictOptions = (Object.keys(SYMBOL) as CellVerdict[]).map((v) => `<option value="${html(v)}">${SYMBOL[v]} ${html(v)}</option>`).join('');
  const legend = (['as expected', 'expected deviation', 'violated', 'skipped', 'broken input'] as CellVerdict[])
    .map((v) => `<span class="cell ${CLASS[v]} legend"><span class="sym">${SYMBOL[v]}</span> ${html(v)}</span>`)
    .join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TLS conformance grid</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#1b1b1b}
header{padding:12px 16px;background:#f4f6f8;border-bottom:1px solid #ccd;position:sticky;top:0;z-index:2}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:16px 16px 6px}
section.group{content-visibility:auto;contain-intrinsic-size:auto 900px}
.filters label{margin-right:12px}select{font:inherit}
.scroll{overflow-x:auto;margin:0 16px}
table.grid{border-collapse:collapse}
.grid th,.grid td{border:1px solid #c9cfd6;padding:3px 5px;vertical-align:top;text-align:left}
.grid th.pair{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:600;background:#fafbfc}
th.combo{min-width:260px;max-width:420px;font-weight:normal;background:#fff}
td.cell{white-space:nowrap;cursor:pointer;font-size:11px;max-width:190px;overflow:hidden;text-overflow:ellipsis}
th.combo details{margin-top:2px}th.combo summary{cursor:pointer;color:#445;font-size:11px}
.sym{font-weight:700}
.ok{background:#d8f0dc}.ok .sym{color:#11632b}
.dev{background:#dde7f6}.dev .sym{color:#1a4f99}
.bad{background:#f6d3d0}.bad .sym{color:#9b1c12}
.broken{background:#fbecc2}.broken .sym{color:#7a5200}
.skip{background:#f0f0f0;color:#666}
.changed{outline:3px dashed #b35c00;outline-offset:-3px}.chg{color:#b35c00;font-weight:700}
.legend{display:inline-block;padding:2px 6px;border:1px solid #c9cfd6}
.hidden{display:none}.dim{opacity:.15}
#detail{position:fixed;right:0;top:0;bottom:0;width:min(560px,95vw);background:#fff;border-left:2px solid #445;box-shadow:-4px 0 12px #0003;overflow:auto;padding:12px 16px;z-index:3}
#detail[hidden]{display:none}#detail pre{white-space:pre-wrap;font-size:12px;background:#f6f8fa;padding:6px}
#detail dt{font-weight:600;margin-top:6px}#detail dd{margin:0 0 0 8px}
</style></head><body>
<header>
<h1>TLS conformance: every combination against every implementation pair</h1>
<div>${s.combinations} combinations: ${s.connected} connected, ${s.disconnected} disconnected (${s.serverRejectedClient} server rejected client, ${s.clientRejectedServer} client rejected server) · ${s.asExpected} as expected, ${s.deviations} expected deviations, ${s.violated} violated · generated ${html(matrix.generatedAt)}</div>
<div>${legend} <span class="legend changed">Δ changed since the compared run</span> · ● connected · S✕ the server refused the client · C✕ the client refused the server · ✕ failed · at hs (handshake), read (first read), http</div>
<div class="filters">
<label>rule <select id="f-rule"><option value="">all rules</option>${ruleOptions}</select></label>
<label>implementation <select id="f-impl"><option value="">all implementations</option>${implementationOptions}</select></label>
<label>verdict <select id="f-verdict"><option value="">all verdicts</option>${verdictOptions}</select></label>
<span id="f-count"></span>
</div>
</header>
<main>
${sections.join('\n')}
</main>
<aside id="detail" hidden aria-label="cell detail"><button id="close-detail">close</button><div id="detail-body"></div></aside>
<script id="cells" type="application/json">${JSON.stringify({ rows: rowInfo, cells: details }).replace(/</g, '\\u003c')}</script>
<script>
(function () {
  // Every cell's detail, read the first time one is asked for: opening the page does not wait for it.
  var data = null;
  function detailOf(id) { data = data || JSON.parse(document.getElementById('cells').textContent); var d = data.cells[id]; return d && { cell: d, row: data.rows[d.row] }; }
  var fRule = document.getElementById('f-rule'), fImpl = document.getElementById('f-impl'), fVerdict = document.getElementById('f-verdict');
  function esc(t) { return String(t == null ? '' : t).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  function apply() {
    var rule = fRule.value, impl = fImpl.value, verdict = fVerdict.value, shown = 0;
    var end = impl ? impl.split(':')[0] : '', name = impl ? impl.split(':')[1] : '';
    document.querySelectorAll('table.grid').forEach(function (table) {
      table.querySelectorAll('th.pair').forEach(function (th, i) {
        var off = impl && th.dataset[end] !== name;
        th.classList.toggle('hidden', !!off);
        table.querySelectorAll('tbody tr').forEach(function (tr) { tr.children[i + 1].classList.toggle('hidden', !!off); });
      });
      var any = false;
      table.querySelectorAll('tbody tr').forEach(function (tr) {
        var ruleOk = !rule || tr.dataset.rules.split(' ').indexOf(rule) >= 0, rowShown = 0;
        Array.prototype.forEach.call(tr.querySelectorAll('td.cell'), function (td) {
          var match = !verdict || td.dataset.verdict === verdict;
          td.classList.toggle('dim', !match);
          if (match && !td.classList.contains('hidden')) rowShown++;
        });
        var visible = ruleOk && rowShown > 0;
        tr.classList.toggle('hidden', !visible);
        if (visible) { any = true; shown += rowShown; }
      });
      table.closest('section').classList.toggle('hidden', !any);
    });
    document.getElementById('f-count').textContent = shown + ' cells shown';
  }
  function show(id) {
    var found = detailOf(id); if (!found) return;
    var d = found.cell, r = found.row;
    var o = d.outcome || {};
    var rows = [
      ['pair', d.pair], ['scenario', r.scenario + ' (' + r.location + ')'],
      ['rules', r.rules.map(function (rule) { return rule.id + ': ' + rule.title + ' [' + rule.source + ']'; }).join('\\n')],
      ['verdict', d.verdict + (d.changed ? ' (changed: ' + d.changed + ')' : '')], ['expected', d.expected], ['actual', d.actual],
      ['deviation', (d.checks || []).filter(function (c) { return c.deviation; }).map(function (c) { return c.deviation.id + ': ' + c.deviation.reason; }).filter(function (t, i, all) { return all.indexOf(t) === i; }).join('\\n')],
      ['negotiated', [o.protocol, o.cipher, o.keyExchange, o.alpn ? 'ALPN ' + o.alpn : ''].filter(Boolean).join(' · ')],
      ['ended by / reason / phase / alert', o.connected ? 'connected' : [o.endedBy, o.reason, o.phase, o.alert ? o.alert.code + ' ' + o.alert.name + ' from the ' + o.alert.sentBy : 'no alert'].join(' / ')],
      ['server', d.server.implementation + ' (' + d.server.version + ')\\n' + JSON.stringify(r.serverSettings)],
      ['client', d.client.implementation + ' (' + d.client.version + ')\\n' + JSON.stringify(r.clientSettings)],
      ['certificates presented', JSON.stringify(d.certificates, null, 1)],
      ['evidence (both ends)', JSON.stringify(d.evidence, null, 1)],
      ['observer', d.observer ? JSON.stringify(d.observer, null, 1) : ''],
      ['duration', d.durationMs == null ? '' : d.durationMs + ' ms']
    ];
    document.getElementById('detail-body').innerHTML = '<h2>' + esc(d.pair) + '</h2><dl>' + rows.filter(function (r) { return r[1]; }).map(function (r) {
      return '<dt>' + esc(r[0]) + '</dt><dd><pre>' + esc(r[1]) + '</pre></dd>';
    }).join('') + '</dl>';
    document.getElementById('detail').hidden = false;
  }
  // One listener for every cell.
  function cellOf(e) { var td = e.target.closest && e.target.closest('td.cell[id]'); return td; }
  document.querySelector('main').addEventListener('click', function (e) { var td = cellOf(e); if (td) show(td.id); });
  document.querySelector('main').addEventListener('keydown', function (e) { var td = cellOf(e); if (td && e.key === 'Enter') show(td.id); });
  document.getElementById('close-detail').addEventListener('click', function () { document.getElementById('detail').hidden = true; });
  [fRule, fImpl, fVerdict].forEach(function (s) { s.addEventListener('change', apply); });
  apply();
})();
</script>
</body></html>
`;
}
