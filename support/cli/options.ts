/** The command line of `npm run conformance`, checked before anything runs. */
import { HarnessInputError } from '../errors';
import { CLIENTS, DEFAULT_CLIENT_IMPLEMENTATION, DEFAULT_SERVER_IMPLEMENTATION, SERVERS } from '../peers/registry';
import { findRule } from '../rules';

export interface Options {
  readonly paths: readonly string[];
  readonly tags: string | null;
  readonly rules: readonly string[];
  readonly name: string | null;
  readonly parallel: number;
  readonly server: string;
  readonly client: string;
  readonly reports: string;
  readonly debug: boolean;
  readonly help: boolean;
}

export const USAGE = `Usage: npm run conformance -- [options] [feature files or directories]

Runs the TLS conformance rules on real handshakes over 127.0.0.1 and writes reports.

Options:
  --rule <id>        run only the scenarios tagged @rule:<id> (repeatable)
  --tags <expr>      Cucumber tag expression, e.g. "@mutual and not @headline"
  --name <regexp>    run only scenarios whose name matches
  --server <impl>    server implementation (${Object.keys(SERVERS).join(', ')}; default ${DEFAULT_SERVER_IMPLEMENTATION})
  --client <impl>    client implementation (${Object.keys(CLIENTS).join(', ')}; default ${DEFAULT_CLIENT_IMPLEMENTATION})
  --parallel <n>     run scenarios in n worker processes
  --reports <dir>    where reports go (default reports/)
  --debug            print stack traces of harness errors
  --help             this text

Exit status: 0 every rule holds, 1 a rule is violated, 2 the harness or its input is broken.`;

const WITH_VALUE = new Set(['--rule', '--tags', '--name', '--server', '--client', '--parallel', '--reports']);

export function parseOptions(argv: readonly string[]): Options {
  const paths: string[] = [];
  const rules: string[] = [];
  const values = new Map<string, string>();
  let debug = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      paths.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--debug') debug = true;
    else if (flag === '--help') help = true;
    else if (WITH_VALUE.has(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new HarnessInputError(`option ${flag} needs a value (see --help)`);
      if (flag === '--rule') rules.push(value);
      else values.set(flag, value);
    } else {
      throw new HarnessInputError(`unknown option ${flag} (see --help)`);
    }
  }
  for (const id of rules) {
    if (!findRule(id)) throw new HarnessInputError(`--rule ${id}: no rule with that id in the rule index (support/rules.ts)`);
  }
  const parallel = Number(values.get('--parallel') ?? '0');
  if (!Number.isInteger(parallel) || parallel < 0) throw new HarnessInputError(`--parallel ${values.get('--parallel')}: expected a whole number`);
  const server = values.get('--server') ?? DEFAULT_SERVER_IMPLEMENTATION;
  const client = values.get('--client') ?? DEFAULT_CLIENT_IMPLEMENTATION;
  if (!SERVERS[server]) throw new HarnessInputError(`--server ${server}: unknown implementation (available: ${Object.keys(SERVERS).join(', ')})`);
  if (!CLIENTS[client]) throw new HarnessInputError(`--client ${client}: unknown implementation (available: ${Object.keys(CLIENTS).join(', ')})`);
  return {
    paths: paths.length ? paths : ['features'],
    tags: values.get('--tags') ?? null,
    rules,
    name: values.get('--name') ?? null,
    parallel,
    server,
    client,
    reports: values.get('--reports') ?? 'reports',
    debug,
    help,
  };
}

/** The tag expression for --tags and --rule together. */
export function tagExpression(options: Options): string {
  const parts: string[] = [];
  if (options.tags) parts.push(`(${options.tags})`);
  if (options.rules.length) parts.push(`(${options.rules.map((id) => `@rule:${id}`).join(' or ')})`);
  return parts.join(' and ');
}
