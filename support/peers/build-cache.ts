/**
 * Programs the harness builds once from a source file it ships (the Go peer,
 * the TCP_NODELAY shim) and keeps in a cache keyed by a hash of the source,
 * the toolchain and the recipe: node_modules/.cache/tls-conformance/<name>,
 * or the temporary directory when that cannot be written. Built atomically:
 * workers of one run that need it at once wait for one build (a lock older
 * than the build timeout is a crashed build's); the result is renamed into
 * place; builds of an older source are removed.
 */
import { execFile } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PROJECT_ROOT } from '../pki/store';

export function runTool(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}): Promise<{ stdout: string; stderr: string; error: Error | null }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: options.timeout ?? 10_000, env: options.env ?? process.env, cwd: options.cwd, maxBuffer: 4 << 20 }, (error, stdout, stderr) =>
      resolve({ stdout: String(stdout), stderr: String(stderr), error }),
    );
  });
}

function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the builds called `name` are kept. */
export function buildCacheDir(name: string): string {
  const inProject = join(PROJECT_ROOT, 'node_modules', '.cache', 'tls-conformance', name);
  return writable(inProject) ? inProject : join(tmpdir(), `tls-conformance-${name}-${process.getuid?.() ?? 'user'}`);
}

export interface CachedBuild {
  readonly path: string;
  /** True when it was already in the cache. */
  readonly cached: boolean;
  readonly ms: number;
}

function lockAge(lock: string): number {
  try {
    return statSync(lock).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * The built file `file` for `key` in `cacheDir`: from the cache when it is
 * there, else made by `build(partial, scratch)`, which writes `partial`
 * (renamed into place) and may use the scratch directory (removed after).
 */
export async function cachedBuild(options: { cacheDir: string; key: string; file: string; timeoutMs: number; build: (partial: string, scratch: string) => Promise<void> }): Promise<CachedBuild> {
  const started = performance.now();
  const { cacheDir, key, file, timeoutMs } = options;
  const dir = join(cacheDir, key);
  const path = join(dir, file);
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'build.lock');
  for (;;) {
    if (existsSync(path)) return { path, cached: true, ms: performance.now() - started };
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() - lockAge(lock) > timeoutMs) rmSync(lock, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const scratch = mkdtempSync(join(tmpdir(), `tls-conformance-build-`));
  try {
    if (existsSync(path)) return { path, cached: true, ms: performance.now() - started };
    const partial = `${path}.${process.pid}.tmp`;
    try {
      await options.build(partial, scratch);
    } catch (error) {
      rmSync(partial, { force: true });
      throw error;
    }
    renameSync(partial, path);
    // Builds of an older source or another toolchain are not used again: one is kept.
    for (const other of readdirSync(cacheDir)) if (other !== key) rmSync(join(cacheDir, other), { recursive: true, force: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(lock, { force: true });
  }
  return { path, cached: false, ms: performance.now() - started };
}
