/** The command line of `npm run conformance`, checked before anything runs. */
import { availableParallelism } from 'node:os';
import { HarnessInputError } from '../errors';
import { CLIENTS, SERVERS } from '../peers/registry';
import { findRule } from '../rules';
import { isServerConfigFile } from '../gate/deployment';
import { parseShard, type Shard } from '../shard';

export interface Options {
  readonly paths: readonly string[];
  readonly tags: string | null;
  readonly rules: readonly string[];
  readonly name: string | null;
  readonly parallel: number;
  readonly servers: readonly string[];
  readonly clients: readonly string[];
  /** A missing implementation is an error (exit 2) instead of being skipped. */
  readonly requireAll: boolean;
  readonly reports: string;
  readonly keylog: string | null;
  readonly deployment: string | null;
  /** Every deployment file or glob given (--deployment may be repeated, and takes the paths after it). */
  readonly deployments: readonly string[];
  readonly target: string | null;
  /** The name the gate asks a --target for (SNI), instead of the deployment's first host name. */
  readonly sni: string | null;
  /** Inconclusive gate findings do not fail the gate. */
  readonly allowInconclusive: boolean;
  readonly compare: string | null;
  /** `--shard i/n`: run only the combinations of shard i of n (support/shard.ts). */
  readonly shard: Shard | null;
  /** For a bare server configuration file given to --deployment: what a deployment file would say. */
  readonly bare: { readonly verify?: string; readonly intent?: string; readonly policy?: string; readonly cert?: string; readonly paths?: string; readonly hostnames?: string };
  /** --servers was given (for a bare configuration file: which program runs it). */
  readonly serversGiven: boolean;
  readonly debug: boolean;
  readonly help: boolean;
}

export const USAGE = `Usage: npm run conformance -- [options] [feature files or directories]

Runs the TLS conformance rules on real handshakes over 127.0.0.1 and writes reports.
With --deployment, gates one TLS deployment (see the README).

Options:
  --rule <id>        run only the scenarios tagged @rule:<id> (repeatable)
  --tags <expr>      Cucumber tag expression, e.g. "@mutual and not @headline"
  --name <regexp>    run only scenarios whose name matches
  --servers <a,b>    server implementations (default: all of ${Object.keys(SERVERS).join(', ')})
  --clients <a,b>    client implementations (default: all of ${Object.keys(CLIENTS).join(', ')})
                     every chosen server is run against every chosen client
  --require-all      a chosen implementation that is missing here is an error (exit 2), not skipped
                     (also when TLS_CONFORMANCE_REQUIRE_ALL=1, as CI sets it)
  --parallel <n>     run scenarios in n worker processes (default: the whole catalog runs in one
                     worker per core, up to 4; a run narrowed by --rule, --tags, --name or paths in one)
  --reports <dir>    where reports go (default reports/)
  --compare <file>   an earlier matrix.json: mark the cells whose outcome changed since
                     (verdict, who ended it, reason, phase, alert, protocol, cipher, ALPN; not message text)
  --shard <i/n>      run only shard i of n: a fixed 1/n of the combinations (scenario or Examples row
                     × server × client pair), the same on every machine; each combination is in one shard
  --keylog <file>    write the run's TLS secrets there, in the NSS key log format (for Wireshark)
  --deployment <file…> the CI gate: start the deployment's own server with its own files and check it;
                     several files and quoted globs ('deploy/**/tls.yaml') are gated side by side,
                     with one combined report and one exit status
                     (see examples/ and the README); reports gate.json, gate.junit.xml, gate.md, gate.sarif
  --target <host:port> with --deployment: check a server that is already running, at the host name or
                     address given (nothing else is contacted), with the deployment's clients and policy
                     --deployment also takes a server's own configuration file (nginx.conf, an Apache
                     site, haproxy.cfg): the gate runs it as it ships, in a sandbox, and checks every
                     TLS endpoint in it; then say with these what a deployment file would:
  --verify <file>    the CA file your clients trust for the server ("system": the system's roots)
  --intent <i>       one-way | mutual (default: read from the file, per endpoint)
  --policy <p>       mozilla-intermediate (default), mozilla-modern, mozilla-old[@5.7|@6.0] or a policy file
                     (with deployment files: instead of the policy each names)
  --cert <crt,key>   the client certificate and key your own clients present (mutual)
  --paths <a=b,...>  where the file's absolute paths live here, e.g. /etc/nginx/tls=deploy/tls
  --hostnames <a,b>  names to ask for where the file writes wildcard server names
  --sni <name>       with --target: the name to ask for (default: the deployment's first host name)
  --allow-inconclusive  the gate passes when a check could not be made (by default an inconclusive
                     finding fails the gate, exit 1)
  --debug            print stack traces of harness errors
  --help             this text

Usage: npm run conformance -- merge <shard>/matrix.json ... [--reports <dir>] [--compare <file>]

Joins the matrix.json of --shard i/n runs into one report of the whole grid (matrix.json, matrix.md,
matrix-full.md, matrix.html, index.html). Shards of different n, a shard given twice or a combination
in two files: exit 2. A missing shard is a warning, and the merged matrix.json lists it (shards.missing).

Exit status: 0 every rule holds, 1 a rule is violated, 2 the harness or its input is broken.`;

const BARE = ['--verify', '--intent', '--policy', '--cert', '--paths', '--hostnames'] as const;
const WITH_VALUE = new Set(['--rule', '--tags', '--name', '--servers', '--clients', '--parallel', '--reports', '--keylog', '--deployment', '--target', '--sni', '--compare', '--shard', ...BARE]);
const ALIASES: Record<string, string> = { '--server': '--servers', '--client': '--clients' };

export function parseOptions(argv: readonly string[]): Options {
  const paths: string[] = [];
  const rules: string[] = [];
  const values = new Map<string, string>();
  const deploymentList: string[] = [];
  let debug = false;
  let help = false;
  let requireAll = false;
  let allowInconclusive = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      paths.push(arg);
      continue;
    }
    const [given, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const flag = ALIASES[given] ?? given;
    if (flag === '--debug') debug = true;
    else if (flag === '--require-all') requireAll = true;
    else if (flag === '--allow-inconclusive') allowInconclusive = true;
    else if (flag === '--help') help = true;
    else if (WITH_VALUE.has(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new HarnessInputError(`option ${flag} needs a value (see --help)`);
      if (flag === '--rule') rules.push(value);
      else if (flag === '--deployment') deploymentList.push(value);
      else if (flag === '--paths' && values.has(flag)) values.set(flag, `${values.get(flag)},${value}`);
      else values.set(flag, value);
    } else {
      throw new HarnessInputError(`unknown option ${flag} (see --help)`);
    }
  }
  for (const id of rules) {
    if (!findRule(id)) throw new HarnessInputError(`--rule ${id}: no rule with that id in the rule index (support/rules.ts)`);
  }
  // The whole catalog keeps every core busy (each worker has its own peers and servers); a narrowed run is too small to pay for the workers' start.
  const whole = rules.length === 0 && !values.has('--tags') && !values.has('--name') && paths.length === 0 && deploymentList.length === 0;
  const parallel = Number(values.get('--parallel') ?? (whole ? String(defaultWorkers()) : '0'));
  if (!Number.isInteger(parallel) || parallel < 0) throw new HarnessInputError(`--parallel ${values.get('--parallel')}: expected a whole number`);
  const list = (flag: string, known: Readonly<Record<string, unknown>>): string[] => {
    const given = values.get(flag);
    if (given === undefined) return Object.keys(known);
    const names = given.split(',').map((n) => n.trim()).filter(Boolean);
    for (const name of names) {
      if (!known[name]) throw new HarnessInputError(`${flag} ${name}: unknown implementation (known: ${Object.keys(known).join(', ')})`);
    }
    return [...new Set(names)];
  };
  const bare = Object.fromEntries(BARE.filter((flag) => values.has(flag)).map((flag) => [flag.slice(2), values.get(flag)!]));
  // With --deployment, the paths after it are deployment files too (a shell-expanded glob).
  if (deploymentList.length) deploymentList.push(...paths.splice(0));
  const deployment = deploymentList[0] ?? null;
  // --policy also overrides a deployment file's policy (the same policy for every file of a run); the others say what only a bare configuration file lacks.
  const given = BARE.find((flag) => values.has(flag) && flag !== '--policy');
  if (given && (!deployment || !deploymentList.every(isServerConfigFile))) {
    throw new HarnessInputError(`${given} is for --deployment <a server's own configuration file>; a deployment file (.yaml) says it itself`);
  }
  const bareConfig = Boolean(deployment && isServerConfigFile(deployment));
  const serversGiven = values.has('--servers');
  const servers = bareConfig ? (values.get('--servers') ?? '').split(',').filter(Boolean) : list('--servers', SERVERS);
  const clients = list('--clients', CLIENTS);
  return {
    paths: paths.length ? paths : ['features'],
    tags: values.get('--tags') ?? null,
    rules,
    name: values.get('--name') ?? null,
    parallel,
    servers,
    clients,
    requireAll,
    reports: values.get('--reports') ?? 'reports',
    keylog: values.get('--keylog') ?? null,
    deployment,
    deployments: deploymentList,
    target: values.get('--target') ?? null,
    sni: values.get('--sni') ?? null,
    allowInconclusive,
    compare: values.get('--compare') ?? null,
    shard: shardOption(values.get('--shard'), deployment !== null),
    bare,
    serversGiven,
    debug,
    help,
  };
}

function shardOption(text: string | undefined, deployment: boolean): Shard | null {
  if (text === undefined) return null;
  const shard = parseShard(text);
  if (!shard) throw new HarnessInputError(`--shard ${text}: expected i/n with 1 ≤ i ≤ n, e.g. --shard 2/4`);
  if (deployment) throw new HarnessInputError('--shard splits the catalog run; a --deployment gate is not sharded');
  return shard;
}

/** The tag expression for --tags and --rule together. */
export function tagExpression(options: Options): string {
  const parts: string[] = [];
  if (options.tags) parts.push(`(${options.tags})`);
  if (options.rules.length) parts.push(`(${options.rules.map((id) => `@rule:${id}`).join(' or ')})`);
  return parts.join(' and ');
}

/** One worker per core, up to 4; none (scenarios in this process) on one core. */
function defaultWorkers(): number {
  const cores = availableParallelism();
  return cores >= 2 ? Math.min(cores, 4) : 0;
}
