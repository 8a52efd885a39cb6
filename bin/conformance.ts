#!/usr/bin/env node
/**
 * Entry point of `npm run conformance` (under ts-node) and of the installed command `tls-conformance`
 * (compiled, dist/bin/conformance.js): see support/cli/run.ts.
 *
 * --help and --version answer before the rest is loaded (Cucumber, the peers, the PKI), so that the
 * first command someone types answers at once: the installed command prints, for `--help` alone, the
 * text its build saved from this very command (package.json "build": dist/usage.txt), without even
 * the options module (the implementation registry and the deployment reader it imports).
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Options } from '../support/cli/options';

/** Running the compiled JavaScript of the installed command, not the TypeScript under ts-node. */
const COMPILED = __filename.endsWith('.js');
/** The package root: the first directory above this file that holds package.json (bin/.. or dist/bin/../..). */
const ROOT = (() => {
  for (let dir = dirname(__dirname); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(__dirname);
  }
})();

/** What the build saved of `tls-conformance --help` (dist/usage.txt); empty while the build writes it. */
function savedUsage(): string {
  try {
    return readFileSync(join(__dirname, '..', 'usage.txt'), 'utf8');
  } catch {
    return '';
  }
}

function parsed(argv: readonly string[]): Options | null {
  try {
    return (require('../support/cli/options') as typeof import('../support/cli/options')).parseOptions(argv);
  } catch {
    return null; // run.ts reports it, with the exit status of a broken input
  }
}

/** Can the PKI be built (or found) there: the directory, or the nearest one that exists above it, is writable. */
function writable(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(at)) {
      try {
        accessSync(at, constants.W_OK);
        return true;
      } catch {
        return false;
      }
    }
    if (dirname(at) === at) return false;
  }
}

const argv = process.argv.slice(2);
// For `--help` alone, exactly what the options module would print.
const saved = COMPILED && argv.length === 1 && argv[0] === '--help' ? savedUsage() : '';
if (argv.includes('--version')) {
  process.stdout.write(`${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
} else if (saved) {
  process.stdout.write(saved);
} else {
  const options = parsed(argv);
  if (options?.help) {
    const { USAGE } = require('../support/cli/options') as typeof import('../support/cli/options');
    process.stdout.write(`${COMPILED ? USAGE.replaceAll('npm run conformance -- ', 'tls-conformance ') : USAGE}\n`);
  } else {
    run(options);
  }
}

function run(options: Options | null): void {
  const args = [...argv];
  if (COMPILED && options && !options.deployment && parsed([...args, '\0'])?.paths.length === 1) {
    // The installed command, with no feature files named: the built-in catalog, not ./features of the repository it runs in.
    args.push(join(ROOT, 'features'));
  }
  if (!process.env.TLS_CONFORMANCE_CERTS && !writable(join(ROOT, 'certs'))) {
    // Installed where it cannot write (a read-only node_modules): the test PKI goes to the user's cache.
    const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    const shared = join(tmpdir(), `tls-conformance-${process.getuid?.() ?? 'user'}`);
    // In the shared temporary directory, only a directory of this user's own (else a new one, built again each run).
    const home = writable(cache) ? join(cache, 'tls-conformance') : !existsSync(shared) || statSync(shared).uid === process.getuid?.() ? shared : mkdtempSync(`${shared}-`);
    process.env.TLS_CONFORMANCE_CERTS = join(home, 'certs');
  }

  const { exitCleanlyOnSignals } = require('../support/cli/interrupt') as typeof import('../support/cli/interrupt');
  const { runConformance } = require('../support/cli/run') as typeof import('../support/cli/run');

  exitCleanlyOnSignals(() => process.stderr.write('\nconformance: interrupted\n'));
  // Output piped into a reader that stops early (`| head`): the run goes on, writes its reports and exits with its status.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }

  runConformance(args).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`conformance: harness error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
