/**
 * The command-line clients' shim (nodelay/nodelay.c): an LD_PRELOAD library
 * that, as asked by its environment, sets TCP_NODELAY on every TCP socket a
 * program connects and reports the connection's local port, built once with the
 * system's C compiler (`cc`) into the build cache. For gnutls-cli, which does
 * not set it: without it, its request waits behind its unacknowledged Finished
 * for the server's delayed ACK (~40 ms a connection) whenever a TLS 1.3 server
 * defers its session tickets. The bytes and the TLS are the same either way;
 * only when the request's segment leaves changes. As with every client that
 * sets it, a request already on its way when a server refuses can turn the
 * server's close into a reset that destroys its alert in flight; the outcome
 * then takes the alert from the server's own account (classify.ts).
 *
 * Without a C compiler there is no shim (undefined): gnutls-cli runs as it is,
 * slower, and its detected version says so.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCacheDir, cachedBuild, runTool } from './build-cache';

const SOURCE = join(__dirname, 'nodelay', 'nodelay.c');
const RECIPE = 'cc -shared -fPIC -O2 -ldl, v2';
const CC = process.env.CC || 'cc';

let shim: Promise<string | undefined> | undefined;

/** The shim's path, or undefined when it cannot be built here (no compiler). */
export function nodelayShim(): Promise<string | undefined> {
  shim ??= (async () => {
    const version = await runTool(CC, ['--version']);
    if (version.error) return undefined;
    const key = createHash('sha256').update(readFileSync(SOURCE)).update('\0').update(version.stdout.split('\n')[0] ?? '').update('\0').update(RECIPE).digest('hex').slice(0, 16);
    try {
      const built = await cachedBuild({
        cacheDir: buildCacheDir('nodelay'),
        key,
        file: 'nodelay.so',
        timeoutMs: 60_000,
        build: async (partial, scratch) => {
          const ran = await runTool(CC, ['-shared', '-fPIC', '-O2', '-o', partial, SOURCE, '-ldl'], { cwd: scratch, timeout: 60_000 });
          if (ran.error) throw new Error(`building the TCP_NODELAY shim failed: ${(ran.stderr || ran.error.message).trim()}`);
        },
      });
      return built.path;
    } catch {
      return undefined;
    }
  })();
  return shim;
}

/** The line the shim writes on stderr when asked to report the local port. */
const PORT_LINE = /^tls-conformance-local-port=(\d+)\n/m;

/**
 * The environment that preloads the shim into a program (the current one when
 * there is no shim): `nodelay` sets TCP_NODELAY, `reportPort` has the program
 * say its connection's local port on stderr (read back by `localPortIn`).
 */
export async function withShim(options: { nodelay?: boolean; reportPort?: boolean }, env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  const path = await nodelayShim();
  if (!path) return env;
  return {
    ...env,
    LD_PRELOAD: env.LD_PRELOAD ? `${path}:${env.LD_PRELOAD}` : path,
    ...(options.nodelay ? { TLS_CONFORMANCE_NODELAY: '1' } : {}),
    ...(options.reportPort ? { TLS_CONFORMANCE_REPORT_PORT: '1' } : {}),
  };
}

/** The local port the shim reported on a program's stderr, and that stderr without its line. */
export function localPortIn(stderr: string): { port: number | null; stderr: string } {
  const found = PORT_LINE.exec(stderr);
  return found ? { port: Number(found[1]), stderr: stderr.replace(new RegExp(PORT_LINE.source, 'gm'), '') } : { port: null, stderr };
}
