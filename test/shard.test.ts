/**
 * Sharded catalog runs and their merge: three shards of a selection hold
 * exactly the cells of one unsharded run of it, each cell in one shard, with
 * the same verdicts; merging refuses inputs that do not fit together (exit 2,
 * one line naming the files) and warns about a missing shard; --compare
 * compares outcomes, not message text.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runConformance } from '../support/cli/run';
import { cellKey, compareMatrices, type Matrix, type MatrixRow } from '../support/report/matrix';
import { parseShard, shardOf } from '../support/shard';

const ROOT = resolve(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'shard-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Two rules with Examples tables and refused configurations, on four fast pairs: a few seconds a run. */
const SELECTION = ['--rule', 'cipher.restricted-by-ciphers', '--rule', 'one-way.server-needs-cert-and-key', '--servers', 'node,python-context', '--clients', 'axios,python-context'];

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (chunk, _e, done) => ((text += chunk), done()) }), text: () => text };
}

/** The command in-process, its output captured (merge, and the option checks that stop before Cucumber). */
async function conformance(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runConformance(args, { stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A catalog run, in a process of its own: Cucumber registers step definitions once per process. */
function catalog(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', 'bin/conformance.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TLS_CONFORMANCE_REQUIRE_ALL: '' },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const read = (dir: string): Matrix => JSON.parse(readFileSync(join(dir, 'matrix.json'), 'utf8')) as Matrix;
const verdicts = (matrix: Matrix): Map<string, string> => new Map(matrix.rows.map((r) => [cellKey(r), r.verdict]));
const oneLine = (text: string): void => assert.equal(text.trim().split('\n').length, 1, text);

describe('--shard i/n', () => {
  it('is i/n with 1 ≤ i ≤ n, else exit 2 with one line; not with --deployment', async () => {
    assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
    for (const bad of ['0/3', '4/3', 'x', '1/0', '1/3/3', '-1/3', '1.5/3']) {
      const run = await conformance(['--shard', bad, '--reports', join(scratch, 'never')]);
      assert.equal(run.code, 2, bad);
      oneLine(run.stderr);
      assert.match(run.stderr, /--shard/);
    }
    const gate = await conformance(['--shard', '1/2', '--deployment', join(ROOT, 'examples', 'mutual-ok', 'deployment.yaml'), '--reports', join(scratch, 'never')]);
    assert.equal(gate.code, 2);
    oneLine(gate.stderr);
    assert.match(gate.stderr, /--shard .*--deployment/);
  });

  it('is a fixed function of location, server and client that spreads the combinations', () => {
    const counts = [0, 0, 0, 0];
    for (let line = 1; line <= 400; line++) {
      for (const server of ['node', 'nginx', 'apache']) {
        const shard = shardOf(`features/x.feature:${line}`, server, 'curl', 4);
        assert.equal(shardOf(`features/x.feature:${line}`, server, 'curl', 4), shard);
        counts[shard - 1]!++;
      }
    }
    for (const count of counts) assert.ok(count > 240 && count < 360, counts.join(', '));
  });
});

describe('three shards and their merge', () => {
  const dirs = { whole: join(scratch, 'whole'), again: join(scratch, 'again'), merged: join(scratch, 'merged'), shards: [1, 2, 3].map((i) => join(scratch, `shard-${i}`)) };
  let whole: Matrix;
  let shards: Matrix[];

  before(() => {
    const first = catalog([...SELECTION, '--reports', dirs.whole]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    whole = read(dirs.whole);
    // One shard with two workers: which combinations a shard runs does not depend on how many run at once.
    dirs.shards.forEach((dir, i) => {
      const run = catalog([...SELECTION, '--shard', `${i + 1}/3`, ...(i === 1 ? ['--parallel', '2'] : []), '--reports', dir]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
    });
    shards = dirs.shards.map(read);
  });

  it('puts every cell of the unsharded run in exactly one shard, the one its key hashes to', () => {
    assert.ok(whole.rows.length >= 40, `only ${whole.rows.length} cells`);
    const owner = new Map<string, number>();
    shards.forEach((matrix, i) => {
      assert.deepEqual(matrix.shard, { index: i + 1, count: 3 });
      assert.equal(matrix.skipped.length, 0, 'a combination of another shard is not reported as skipped');
      assert.ok(matrix.rows.length > 0 && matrix.rows.length < whole.rows.length, `shard ${i + 1}: ${matrix.rows.length} cells`);
      for (const row of matrix.rows) {
        assert.ok(!owner.has(cellKey(row)), `${cellKey(row)} is in shards ${owner.get(cellKey(row))} and ${i + 1}`);
        owner.set(cellKey(row), i + 1);
        assert.equal(shardOf(row.location, row.server.implementation, row.client.implementation, 3), i + 1);
      }
    });
    assert.deepEqual([...owner.keys()].sort(), whole.rows.map(cellKey).sort());
  });

  it('merges into the same cells with the same verdicts as the unsharded run, written like a run', async () => {
    const run = await conformance(['merge', ...dirs.shards.map((d) => join(d, 'matrix.json')), '--reports', dirs.merged]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stderr, '');
    const merged = read(dirs.merged);
    assert.deepEqual(merged.shards, { count: 3, merged: [1, 2, 3], missing: [] });
    assert.equal(merged.shard, undefined);
    assert.deepEqual([...verdicts(merged)].sort(), [...verdicts(whole)].sort());
    assert.deepEqual(merged.summary, whole.summary);
    assert.deepEqual(merged.implementations, whole.implementations);
    assert.deepEqual(merged.skipped, whole.skipped);
    assert.deepEqual(merged.staleDeviations.length, whole.staleDeviations.length);
    for (const file of ['matrix.md', 'matrix-full.md', 'matrix.html', 'index.html']) assert.ok(readFileSync(join(dirs.merged, file), 'utf8').length > 100, file);
    assert.match(readFileSync(join(dirs.merged, 'matrix.md'), 'utf8'), /Merged shards 1, 2, 3 of 3\./);
  });

  it('refuses inputs that do not fit together: exit 2, one line naming the files', async () => {
    const [one, two, three] = dirs.shards.map((d) => join(d, 'matrix.json')) as [string, string, string];
    const write = (name: string, text: string): string => {
      const file = join(scratch, name);
      writeFileSync(file, text);
      return file;
    };
    const asShard = (matrix: Matrix, shard: Matrix['shard']): string => JSON.stringify({ ...matrix, shard });
    const cases: [string, string[], RegExp][] = [
      ['a shard twice', [one, two, one], /shard 1\/3 given twice: .*shard-1\/matrix\.json and .*shard-1\/matrix\.json/],
      ['mixed shard counts', [one, write('of-four.json', asShard(shards[1]!, { index: 2, count: 4 }))], /mixed shard counts: .*shard-1\/matrix\.json is shard 1\/3, .*of-four\.json is shard 2\/4/],
      ['a combination twice', [one, write('copy-of-one.json', asShard(shards[0]!, { index: 2, count: 3 })), three], /is in two inputs: .*shard-1\/matrix\.json and .*copy-of-one\.json/],
      ['not a matrix', [one, write('not-a-matrix.json', '{"hello": "world"}')], /not-a-matrix\.json: not a matrix\.json of this harness/],
      ['not JSON', [one, write('not-json.json', '{"rows": [')], /not-json\.json: not JSON/],
      ['no such file', [one, join(scratch, 'absent.json')], /absent\.json: cannot read it \(ENOENT\)/],
      ['no file at all', [], /name the matrix\.json of each shard/],
    ];
    for (const [what, files, message] of cases) {
      const run = await conformance(['merge', ...files, '--reports', join(scratch, 'refused')]);
      assert.equal(run.code, 2, `${what}: ${run.stdout}${run.stderr}`);
      oneLine(run.stderr);
      assert.match(run.stderr, message, what);
    }
  });

  it('merges what it has when a shard is missing, with a warning, and says which', async () => {
    const partial = join(scratch, 'partial');
    const run = await conformance(['merge', join(dirs.shards[0]!, 'matrix.json'), join(dirs.shards[2]!, 'matrix.json'), '--reports', partial]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    oneLine(run.stderr);
    assert.match(run.stderr, /warning: shard 2\/3 missing/);
    const merged = read(partial);
    assert.deepEqual(merged.shards, { count: 3, merged: [1, 3], missing: [2] });
    assert.equal(merged.rows.length, shards[0]!.rows.length + shards[2]!.rows.length);
    assert.match(readFileSync(join(partial, 'matrix.md'), 'utf8'), /missing: 2/);
  });

  it('exits 1 when a merged row is violated, as a run does', async () => {
    const violated = { ...shards[0]!, rows: shards[0]!.rows.map((r, i) => (i === 0 ? { ...r, verdict: 'violated' as const } : r)) };
    const file = join(scratch, 'violated.json');
    writeFileSync(file, JSON.stringify(violated));
    const run = await conformance(['merge', file, join(dirs.shards[1]!, 'matrix.json'), join(dirs.shards[2]!, 'matrix.json'), '--reports', join(scratch, 'merged-violated')]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^✘ /m);
  });

  it('--compare: a second run of the same selection changes no cell', () => {
    const run = catalog([...SELECTION, '--reports', dirs.again, '--compare', join(dirs.whole, 'matrix.json')]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /compared with .*: 0 cells changed/);
    assert.equal((read(dirs.again) as Matrix & { changed?: unknown }).changed, undefined);
  });

  it('--compare: an outcome that changed is Δ, a message or evidence that changed is not', async () => {
    const rows = whole.rows as MatrixRow[];
    const reasonRow = rows.findIndex((r) => r.outcome && !r.outcome.connected && r.outcome.reason);
    const textRow = rows.findIndex((r, i) => i !== reasonRow && r.outcome && r.evidence);
    const refusals = rows.map((r, i) => [r, i] as const).filter(([r]) => !r.outcome && /refused its configuration: \w+/.test(r.actual)).map(([, i]) => i);
    assert.ok(reasonRow >= 0 && textRow >= 0 && refusals.length >= 2, 'the selection has a refusal, a disconnect and another outcome');
    const [refusalText, refusalField] = refusals as [number, number];
    const edited = structuredClone(whole) as Matrix & { rows: MatrixRow[] };
    const edit = (i: number, change: (row: Record<string, unknown>) => void): void => change(edited.rows[i] as unknown as Record<string, unknown>);
    // The outcome: another reason.
    edit(reasonRow, (r) => (r.outcome = { ...(r.outcome as object), reason: rows[reasonRow]!.outcome!.reason === 'timeout' ? 'unknown_ca' : 'timeout' }));
    // Text only: the one-line description, the raw evidence, the duration.
    edit(textRow, (r) => {
      r.actual = `${r.actual} (said differently by another library version)`;
      r.durationMs = 99999;
      r.evidence = { client: { ...rows[textRow]!.evidence!.client, socketError: { code: 'EOTHER', message: 'other words, port 1' } }, server: { ...rows[textRow]!.evidence!.server, errors: [] } };
    });
    // A refusal: other words for the same field are no change; another field is.
    edit(refusalText, (r) => (r.actual = (r.actual as string).replace(/(refused its configuration: \w+[^:]*: ).*/, '$1ERR_OTHER_WORDING error:0A000000:other::text')));
    edit(refusalField, (r) => (r.actual = (r.actual as string).replace(/(refused its configuration: )\w+/, '$1ssl_version')));
    const previous = join(scratch, 'edited.json');
    writeFileSync(previous, JSON.stringify(edited));

    const changes = compareMatrices(whole, edited);
    assert.deepEqual([...changes.keys()].map(cellKey).sort(), [cellKey(rows[reasonRow]!), cellKey(rows[refusalField]!)].sort());

    // Through the command: the merge of the shards compared with the edited copy of the unsharded run.
    const out = join(scratch, 'compared');
    const run = await conformance(['merge', ...dirs.shards.map((d) => join(d, 'matrix.json')), '--reports', out, '--compare', previous]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /: 2 cells changed/);
    const changed = (read(out) as Matrix & { changed: { location: string; server: string; client: string; was: string; now: string }[] }).changed;
    assert.deepEqual(changed.map((c) => `${c.location} ${c.server} ${c.client}`).sort(), [cellKey(rows[reasonRow]!), cellKey(rows[refusalField]!)].sort());
    const reasonChange = changed.find((c) => `${c.location} ${c.server} ${c.client}` === cellKey(rows[reasonRow]!))!;
    assert.match(reasonChange.was, /timeout|unknown_ca/);
    assert.equal(reasonChange.now, rows[reasonRow]!.actual);
    assert.match(readFileSync(join(out, 'matrix.md'), 'utf8'), /\*\*Changed since the compared run\*\*/);
    assert.equal((readFileSync(join(out, 'index.html'), 'utf8').match(/<span class="chg"/g) ?? []).length, 2, 'index.html marks the two cells Δ');
  });
});
