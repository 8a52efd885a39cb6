/**
 * `npm run conformance`: check the options, build the PKI, run the features
 * through Cucumber's API, follow its messages, write the reports, print one
 * screen of summary, and return the exit status (0 rules hold, 1 a rule is
 * violated, 2 the harness or its input is broken).
 */
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { errorText, HarnessInputError } from '../errors';
import { detectImplementations } from '../peers/registry';
import { ensurePki, PROJECT_ROOT } from '../pki/store';
import { alertSeenOnce, buildMatrix, compareMatrices, writeMatrix, type Matrix, type MatrixRow } from '../report/matrix';
import { RunCollector, type ScenarioResult } from '../report/run-collector';
import { SHARD_OUT_MEDIA_TYPE } from '../shard';
import { parseOptions, tagExpression, USAGE, type Options } from './options';
import { runGateCommand } from './gate-command';
import { compareLine, runMerge } from './merge';
import { Progress } from './progress';
import { printSummary } from './summary';

export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Support code Cucumber loads, in every worker: the .ts files under ts-node, the compiled .js in dist/ (the installed command). */
const SUPPORT = ['support/world', 'support/parameter-types', 'support/hooks', 'steps/**/*'].map((p) => (__filename.endsWith('.js') ? join(__dirname, '..', '..', `${p}.js`) : join(PROJECT_ROOT, `${p}.ts`)));

export async function runConformance(argv: readonly string[], io: Io = process): Promise<number> {
  // `conformance merge a/matrix.json b/matrix.json …`: join the reports of --shard runs (support/cli/merge.ts).
  if (argv[0] === 'merge') return runMerge(argv.slice(1), io);
  const started = performance.now();
  const fail = (line: string): number => {
    io.stderr.write(`conformance: ${line}\n`);
    return 2;
  };
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    return fail(errorText(error));
  }
  if (options.help) {
    io.stdout.write(USAGE + '\n');
    return 0;
  }
  if (options.target && !options.deployment) return fail('--target needs --deployment: the clients, names and policy to check the running server with');
  if (options.sni && !options.target) return fail('--sni needs --target: the gate asks a server it starts for the deployment\'s own host names');
  if (options.deployment) {
    await ensurePki();
    return runGateCommand(options.deployments, options.reports, io, {
      target: options.target ?? undefined,
      sni: options.sni ?? undefined,
      allowInconclusive: options.allowInconclusive,
      bare: { ...options.bare, ...(options.serversGiven ? { implementation: options.servers.join(',') } : {}) },
    });
  }
  const absent = options.paths.find((path) => !existsSync(path));
  if (absent) return fail(`${absent}: no such feature file or directory`);

  let implementations: Awaited<ReturnType<typeof detectImplementations>>;
  try {
    [implementations] = await Promise.all([detectImplementations(options.servers, options.clients), ensurePki()]);
  } catch (error) {
    return fail(`certs/: cannot build the PKI: ${errorText(error)}`);
  }
  const { missing } = implementations;
  // CI sets TLS_CONFORMANCE_REQUIRE_ALL=1 so that it cannot pass by skipping what it failed to install.
  if (missing.length && (options.requireAll || process.env.TLS_CONFORMANCE_REQUIRE_ALL === '1')) {
    return fail(`--require-all: ${missing.map((m) => `${m.end} ${m.name} is not available here (${m.hint})`).join('; ')}`);
  }
  if (implementations.servers.length === 0 || implementations.clients.length === 0) {
    return fail(`no ${implementations.servers.length === 0 ? 'server' : 'client'} implementation is available here: ${missing.map((m) => `${m.name}: ${m.hint}`).join('; ')}`);
  }
  for (const m of missing) io.stdout.write(`skipping ${m.end} ${m.name}: ${m.hint}\n`);

  if (options.keylog) {
    // Inherited by Cucumber's workers and every peer process; each implementation that can, writes its secrets there.
    process.env.SSLKEYLOGFILE = resolve(options.keylog);
    writeFileSync(process.env.SSLKEYLOGFILE, '', { mode: 0o600 });
  } else {
    delete process.env.SSLKEYLOGFILE; // a variable left in the environment must not leak secrets into a file nobody asked for
  }
  let previous: Matrix | undefined;
  if (options.compare) {
    try {
      previous = JSON.parse(readFileSync(options.compare, 'utf8')) as Matrix;
      if (!Array.isArray(previous.rows)) throw new Error('no rows');
    } catch (error) {
      return fail(`--compare ${options.compare}: not a matrix.json of this harness (${errorText(error)})`);
    }
  }
  const reports = resolve(options.reports);
  mkdirSync(reports, { recursive: true });
  const collector = new RunCollector();
  const shardOut = new Set<string>();
  const progress = new Progress(io.stdout);
  collector.onScenarioFinished = (result) => progress.scenario(result, collector.plannedScenarios);
  try {
    const { runConfiguration } = await loadConfiguration({
      file: false,
      provided: {
        paths: [...options.paths],
        require: SUPPORT,
        // From the repository the workers load the .ts support code through the cached transpiler (scripts/register-ts.js:
        // a start transpiles only what changed); the installed command's is compiled.
        requireModule: __filename.endsWith('.ts') ? [join(PROJECT_ROOT, 'scripts', 'register-ts.js')] : [],
        tags: tagExpression(options),
        name: options.name ? [options.name] : [],
        parallel: options.parallel,
        strict: true,
        format: [`html:${join(reports, 'cucumber.html')}`, `junit:${join(reports, 'cucumber.junit.xml')}`, `message:${join(reports, 'cucumber.ndjson')}`],
        worldParameters: JSON.parse(JSON.stringify({ servers: implementations.servers, clients: implementations.clients, ...(options.shard ? { shard: options.shard } : {}) })),
      },
    });
    // Cucumber's own stdout formatter is not used: progress and summary are ours, below.
    // Its stderr (parse errors it also sends as messages, warnings) is shown with --debug only.
    const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
    const cucumberLog = options.debug ? (io.stderr as Writable) : silent;
    await runCucumber(runConfiguration, { cwd: process.cwd(), stdout: silent, stderr: cucumberLog }, (envelope) => {
      // A scenario whose every pair belongs to another shard: not "skipped" in this shard's report (support/world.ts).
      if (envelope.attachment?.mediaType === SHARD_OUT_MEDIA_TYPE) shardOut.add((JSON.parse(envelope.attachment.body) as { location: string }).location);
      collector.accept(envelope);
    });
  } catch (error) {
    progress.done();
    const text = errorText(error).split('\n')[0];
    return fail(error instanceof HarnessInputError ? text! : `cannot run the features: ${text}`);
  }
  progress.done();

  const results = collector.results();
  const reportStarted = performance.now();
  const built = buildMatrix(results, implementations);
  const matrix: Matrix = options.shard ? { ...built, skipped: built.skipped.filter((s) => !shardOut.has(s.location)), unmatchedDeviations: [], shard: options.shard } : built;
  const changes = previous ? compareMatrices(matrix, previous) : new Map<MatrixRow, string>();
  writeMatrix(reports, matrix, changes);
  const reportMs = Math.round(performance.now() - reportStarted);
  const wallMs = Math.round(performance.now() - started);
  writeFileSync(
    join(reports, 'run.json'),
    JSON.stringify({ wallMs, reportMs, peakRssKb: process.resourceUsage().maxRSS, scenarios: results.length, combinations: matrix.rows.length, parallel: options.parallel }, null, 2) + '\n',
  );
  if (previous) io.stdout.write(`${compareLine(options.compare!, changes.size, alertSeenOnce(matrix, previous, changes))}\n`);

  const broken = [...collector.sourceErrors, ...brokenLines(results, options.debug)];
  if (broken.length) {
    for (const line of new Set(broken)) fail(line);
    return 2;
  }
  if (results.length === 0) {
    return fail(`no scenario matches${options.rules.length ? ` --rule ${options.rules.join(', ')}` : ''}${options.tags ? ` --tags ${options.tags}` : ''}${options.name ? ` --name ${options.name}` : ''} in ${options.paths.join(', ')}`);
  }
  const violated = printSummary(io.stdout, results, matrix, relative(process.cwd(), reports) || '.', wallMs);
  return violated ? 1 : 0;
}

/** One line per broken input or harness failure: where, and what. */
function brokenLines(results: readonly ScenarioResult[], debug: boolean): string[] {
  const lines: string[] = [];
  for (const { failure } of results) {
    if (!failure || failure.kind === 'violation') continue;
    const first = failure.message.split('\n')[0];
    if (failure.kind === 'input') lines.push(`${failure.where}: ${first}`);
    else lines.push(`${failure.where}: harness error: ${first}${debug && failure.stack ? `\n${failure.stack}` : ' (--debug shows the stack)'}`);
  }
  return lines;
}
