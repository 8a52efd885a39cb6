/**
 * Runs the composite GitHub Action in action.yml here, the way a runner would, to test it without GitHub:
 *
 *   node --require ts-node/register/transpile-only scripts/run-action-locally.ts \
 *     [--workdir DIR] [--action DIR] [--record FILE] deployment=deploy/tls.yaml [package=/path/tls-conformance-0.1.0.tgz] ...
 *
 * Each `run:` step runs in order with bash (as `shell: bash` does: `bash --noprofile --norc -eo pipefail`),
 * in the working directory (the workspace), with `${{ inputs.X }}` (given, or the input's default),
 * `${{ github.action_path }}`, `${{ github.workspace }}`, `${{ runner.temp }}`, `${{ runner.os }}`,
 * `${{ env.X }}` and `${{ steps.ID.outputs.X }}` substituted, and GITHUB_STEP_SUMMARY, GITHUB_OUTPUT,
 * GITHUB_ENV and GITHUB_PATH pointing at files in a temporary directory (read back between steps as a
 * runner does). `if:` may be always(), success(), failure(), cancelled() or !cancelled(). `uses:` steps
 * (actions/upload-artifact) are recorded with their `with:`, not run. Any other expression is an error,
 * so that the action cannot use one this script would silently get wrong.
 *
 * Exit status: that of the first step that failed (as the composite action's), 0 when none did.
 * --record FILE writes what happened (steps, outputs, the step summary) as JSON.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';

export interface LocalRunOptions {
  /** The inputs given (`with:`); the others take their default. */
  readonly inputs: Readonly<Record<string, string>>;
  /** The workspace: where the steps run (default: the current directory). */
  readonly workdir?: string;
  /** The action's directory (default: this repository's root). */
  readonly actionPath?: string;
  /** Extra environment for every step. */
  readonly env?: Readonly<Record<string, string>>;
  /** 'inherit' shows the steps' output (the command line); 'pipe' collects it into `log` (tests). */
  readonly stdio?: 'inherit' | 'pipe';
}

export interface StepRecord {
  readonly name: string;
  readonly id?: string;
  /** ran: a run: step that was run; recorded: a uses: step; skipped: its if: was false. */
  readonly outcome: 'ran' | 'recorded' | 'skipped';
  readonly status?: number;
  readonly uses?: string;
  readonly with?: Readonly<Record<string, string>>;
}

export interface LocalRunResult {
  /** The first failed step's exit status, 0 when none failed. */
  readonly status: number;
  readonly steps: readonly StepRecord[];
  /** The action's outputs. */
  readonly outputs: Readonly<Record<string, string>>;
  /** What the steps appended to GITHUB_STEP_SUMMARY. */
  readonly summary: string;
  readonly runnerTemp: string;
  /** The steps' output, with stdio 'pipe'. */
  readonly log: string;
}

interface ActionStep {
  readonly name?: string;
  readonly id?: string;
  readonly if?: string;
  readonly run?: string;
  readonly shell?: string;
  readonly uses?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, unknown>;
  readonly 'working-directory'?: string;
}

interface ActionFile {
  readonly inputs?: Record<string, { readonly required?: boolean; readonly default?: unknown }>;
  readonly outputs?: Record<string, { readonly value: string }>;
  readonly runs: { readonly using: string; readonly steps: readonly ActionStep[] };
}

const EXPRESSION = /\$\{\{\s*(.*?)\s*\}\}/g;

/** `name=value` lines and `name<<DELIMITER` blocks, as GITHUB_OUTPUT and GITHUB_ENV are written. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const block = /^([^=<]+)<<(.+)$/.exec(line);
    if (block) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== block[2]; i++) body.push(lines[i]!);
      values[block[1]!] = body.join('\n');
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

export async function runActionLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const actionPath = resolve(options.actionPath ?? join(__dirname, '..'));
  const workdir = resolve(options.workdir ?? process.cwd());
  const action = parse(readFileSync(join(actionPath, 'action.yml'), 'utf8')) as ActionFile;
  if (action.runs.using !== 'composite') throw new Error(`action.yml: runs.using is ${action.runs.using}, not composite`);

  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    const given = options.inputs[name];
    if (given === undefined && spec.required) throw new Error(`input ${name} is required`);
    inputs[name] = given ?? (spec.default === undefined ? '' : String(spec.default));
  }
  for (const name of Object.keys(options.inputs)) {
    if (!(name in inputs)) throw new Error(`action.yml has no input ${name}`);
  }

  const runnerTemp = mkdtempSync(join(tmpdir(), 'action-runner-'));
  const files = { summary: join(runnerTemp, 'step_summary.md'), env: join(runnerTemp, 'github_env'), path: join(runnerTemp, 'github_path') };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...options.env,
    GITHUB_WORKSPACE: workdir,
    GITHUB_ACTION_PATH: actionPath,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    RUNNER_TEMP: runnerTemp,
    RUNNER_OS: 'Linux',
  };
  const stepOutputs: Record<string, Record<string, string>> = {};

  const value = (expression: string): string => {
    const [head, ...rest] = expression.split('.');
    const key = rest.join('.');
    if (head === 'inputs' && key in inputs) return inputs[key]!;
    if (expression === 'github.action_path') return actionPath;
    if (expression === 'github.workspace') return workdir;
    if (expression === 'runner.temp') return runnerTemp;
    if (expression === 'runner.os') return 'Linux';
    if (head === 'env') return env[key] ?? '';
    const output = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expression);
    if (output) return stepOutputs[output[1]!]?.[output[2]!] ?? '';
    throw new Error(`action.yml: \${{ ${expression} }} is not an expression this script knows`);
  };
  const substitute = (text: unknown): string => String(text ?? '').replace(EXPRESSION, (_all, expression: string) => value(expression));

  let status = 0;
  const steps: StepRecord[] = [];
  const log: string[] = [];
  for (const [index, step] of action.runs.steps.entries()) {
    const name = step.name ?? step.uses ?? `step ${index + 1}`;
    const condition = (step.if ?? 'success()').replace(/^\$\{\{\s*(.*?)\s*\}\}$/, '$1').trim();
    const conditions: Record<string, boolean> = { 'always()': true, 'success()': status === 0, 'failure()': status !== 0, 'cancelled()': false, '!cancelled()': true };
    if (!(condition in conditions)) throw new Error(`action.yml: step "${name}": if: ${condition} is not a condition this script knows`);
    if (!conditions[condition]) {
      steps.push({ name, id: step.id, outcome: 'skipped' });
      continue;
    }
    if (step.uses) {
      const withValues = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, substitute(v)]));
      steps.push({ name, id: step.id, outcome: 'recorded', uses: step.uses, with: withValues });
      continue;
    }
    if (step.run === undefined) throw new Error(`action.yml: step "${name}" has neither run: nor uses:`);
    if (step.shell !== 'bash') throw new Error(`action.yml: step "${name}": shell: ${step.shell ?? '(none)'}; this script runs bash steps only (a composite step must name its shell)`);

    const output = join(runnerTemp, `github_output_${index}`);
    writeFileSync(output, '');
    const script = join(runnerTemp, `step_${index}.sh`);
    writeFileSync(script, substitute(step.run));
    const extraPath = readFileSync(files.path, 'utf8').split('\n').filter(Boolean).reverse();
    const stepEnv: Record<string, string> = {
      ...env,
      ...parseCommandFile(readFileSync(files.env, 'utf8')),
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(v)])),
      GITHUB_OUTPUT: output,
    };
    if (extraPath.length) stepEnv.PATH = [...extraPath, env.PATH].join(delimiter);
    const cwd = step['working-directory'] ? resolve(workdir, substitute(step['working-directory'])) : workdir;
    mkdirSync(cwd, { recursive: true });
    if (options.stdio !== 'pipe') process.stdout.write(`::group::${name}\n`);
    const code = await new Promise<number>((done, fail) => {
      const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd, env: stepEnv, stdio: options.stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
      child.stdout?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
      child.on('error', fail);
      child.on('close', (exit, signal) => done(exit ?? (signal ? 128 : 1)));
    });
    if (options.stdio !== 'pipe') process.stdout.write(`::endgroup::\n${code ? `::error::${name}: exit status ${code}\n` : ''}`);
    if (step.id) stepOutputs[step.id] = parseCommandFile(readFileSync(output, 'utf8'));
    steps.push({ name, id: step.id, outcome: 'ran', status: code });
    if (code !== 0 && status === 0) status = code;
  }
  const outputs = Object.fromEntries(Object.entries(action.outputs ?? {}).map(([k, v]) => [k, substitute(v.value)]));
  return { status, steps, outputs, summary: readFileSync(files.summary, 'utf8'), runnerTemp, log: log.join('') };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const inputs: Record<string, string> = {};
  let workdir: string | undefined;
  let actionPath: string | undefined;
  let record: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--workdir') workdir = args[++i];
    else if (arg === '--action') actionPath = args[++i];
    else if (arg === '--record') record = args[++i];
    else if (/^[\w-]+=/.test(arg)) inputs[arg.slice(0, arg.indexOf('='))] = arg.slice(arg.indexOf('=') + 1);
    else {
      process.stderr.write(`usage: run-action-locally.ts [--workdir DIR] [--action DIR] [--record FILE] input=value...\n`);
      process.exit(2);
    }
  }
  runActionLocally({ inputs, workdir, actionPath }).then(
    (result) => {
      if (record) {
        mkdirSync(dirname(resolve(record)), { recursive: true });
        writeFileSync(record, JSON.stringify({ status: result.status, steps: result.steps, outputs: result.outputs, summary: result.summary }, null, 2) + '\n');
      }
      for (const step of result.steps) {
        process.stdout.write(`${step.outcome === 'ran' ? (step.status ? '✘' : '✔') : step.outcome === 'recorded' ? '·' : '–'} ${step.name}${step.outcome === 'recorded' ? ` (recorded, not run: ${step.uses} ${JSON.stringify(step.with)})` : step.outcome === 'skipped' ? ' (skipped)' : ` (exit ${step.status})`}\n`);
      }
      process.stdout.write(`step summary: ${join(result.runnerTemp, 'step_summary.md')}\n`);
      process.exitCode = result.status;
    },
    (error: unknown) => {
      process.stderr.write(`run-action-locally: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
