/**
 * What the three programs share when the gate runs the user's own file: the
 * `paths` map (where the file's absolute paths live in this repository), a
 * sandbox directory holding line-for-line copies of every file read with
 * only sandbox edits applied (so the program's own file:line is the user's),
 * loopback ports for every listen, a local HTTP stub for any backend the file
 * proxies to (nothing outside is ever contacted), the program's own
 * configuration test, and the running program.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { execFile } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';
import { HarnessInputError, shortPath } from '../errors';
import { spawnTracked, stopProcess } from '../processes';
import { atMostEvery, freePort, isListening } from '../peers/process-server';
import type { Change, Directive, PreparedConfig } from './types';

/** `paths: { /etc/nginx/tls: tls }`: absolute prefixes in the file → directories here (absolute). */
export type PathMap = readonly { readonly from: string; readonly to: string }[];

export const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_FILES = 200;

export function where(file: string, line: number): string {
  return `${shortPath(file)}:${line}`;
}

export function at(d: Directive): string {
  return where(d.file, d.line);
}

/** Stop on a problem in the user's file: one line, naming file and line. */
export function broken(d: Pick<Directive, 'file' | 'line'>, message: string): never {
  throw new HarnessInputError(`${where(d.file, d.line)}: ${message}`);
}

/** Read one configuration file of the user's, or stop naming who included it. */
export function readConfigText(path: string, includedBy?: Pick<Directive, 'file' | 'line'>): string {
  const fail = (message: string): never => (includedBy ? broken(includedBy, message) : (() => { throw new HarnessInputError(`${shortPath(path)}: ${message}`); })());
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return fail(`${shortPath(path)} is a directory, not a configuration file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof HarnessInputError) throw error;
    return fail(`${shortPath(path)}: cannot read it (${(error as NodeJS.ErrnoException).code})`);
  }
  if (size > MAX_CONFIG_BYTES) return fail(`${shortPath(path)}: ${size} bytes is too large for a configuration file`);
  const text = readFileSync(path, 'latin1');
  if (text.includes('\u0000')) return fail(`${shortPath(path)}: binary data, not a configuration file`);
  return text;
}

/** Glob a pattern with `*`, `?` and `[...]` in its last parts, as nginx, Apache and HAProxy do for includes. */
export function expandGlob(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return existsSync(pattern) ? [pattern] : [];
  const parts = pattern.split(sep);
  let bases = [parts[0] === '' ? sep : parts[0]!];
  for (const part of parts.slice(1)) {
    if (!part) continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?[]/.test(part)) {
        const candidate = join(base, part);
        if (existsSync(candidate)) next.push(candidate);
        continue;
      }
      const matcher = new RegExp(`^${part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
      let names: string[] = [];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const name of names.sort()) if (matcher.test(name) && !name.startsWith('.')) next.push(join(base, name));
    }
    bases = next;
  }
  return bases;
}

/** Directories of this machine's own server packages: their files may be included as they are here. */
const SYSTEM_DIRECTORIES = ['/etc/nginx/', '/usr/share/nginx/', '/usr/lib/nginx/', '/etc/apache2/', '/usr/lib/apache2/', '/usr/share/apache2/', '/etc/haproxy/', '/usr/share/haproxy/', '/etc/ssl/openssl.cnf'];

export interface ResolvedPath {
  /** Where the file is on this machine. */
  readonly local: string;
  /** Mapped through `paths`, or taken from the machine's own server package: a change to report. */
  readonly change?: Change;
}

/**
 * A path written in the user's file, resolved on this machine: relative to
 * `base`; absolute through `paths`; or, for `kind: 'include'` only, a file of
 * this machine's own server package. A TLS file (certificate, key, CA, DH
 * parameters) outside the mapped paths stops the run: the gate checks the
 * files that ship, not whatever this machine has at that path.
 */
export function resolveConfigPath(value: string, base: string, paths: PathMap, d: Directive, kind: 'tls' | 'include'): ResolvedPath {
  if (/\$\{?[A-Za-z_]/.test(value) && kind === 'tls') {
    broken(d, `${d.name} ${value}: a path through a variable is chosen per request, so the file that ships cannot be checked before it runs; name the file`);
  }
  if (!isAbsolute(value)) return { local: resolve(base, value) };
  const local = mappedPath(value, paths);
  if (local) return { local, change: { where: at(d), from: value, to: shortPath(local), why: 'an absolute path, mapped through paths' } };
  if (kind === 'include' && SYSTEM_DIRECTORIES.some((s) => value.startsWith(s)) && (expandGlob(value).length || /[*?[]/.test(value))) {
    return { local: value, change: { where: at(d), from: value, to: value, why: "this machine's own file of the server package, read from here" } };
  }
  return broken(d, `${d.name} ${value}: an absolute path outside the mapped paths; add its directory to server.paths (for example paths: { ${dirname(value)}: <directory in this repository> }) so the gate reads the file that ships`);
}

/** An absolute path under one of `paths` (the longest that holds it), as it is here; null when none holds it. */
export function mappedPath(value: string, paths: PathMap): string | null {
  const mapped = [...paths].sort((a, b) => b.from.length - a.from.length).find((p) => value === p.from || value.startsWith(p.from.endsWith('/') ? p.from : `${p.from}/`));
  return mapped ? join(mapped.to, value.slice(mapped.from.length)) : null;
}

export function resolveTlsFile(value: string, base: string, paths: PathMap, d: Directive, changes: Change[], named?: Map<string, string>): string {
  const resolved = resolveConfigPath(value, base, paths, d, 'tls');
  if (resolved.change) changes.push(resolved.change);
  named?.set(shortPath(resolved.local), at(d));
  try {
    if (statSync(resolved.local).isDirectory()) return resolved.local;
  } catch {
    broken(d, `${d.name} ${value}: no such file${resolved.local !== value ? ` (looked for ${shortPath(resolved.local)})` : ''}`);
  }
  return resolved.local;
}

/** An edit of a file's text that keeps its lines where they were. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
    const replaced = out.slice(edit.start, edit.end);
    const lost = (replaced.match(/\n/g) ?? []).length - (edit.text.match(/\n/g) ?? []).length;
    out = out.slice(0, edit.start) + edit.text + '\n'.repeat(Math.max(0, lost)) + out.slice(edit.end);
  }
  return out;
}

/** Sandboxes not yet removed: an interrupted run (Ctrl-C, SIGTERM) removes them as it exits. */
const LIVE = new Set<string>();
/** Named with the process id, so that the main thread also removes those of its worker threads (same process). */
const PREFIX = `tls-conformance-config-${process.pid}-`;
process.once('exit', () => {
  for (const directory of LIVE) rmSync(directory, { recursive: true, force: true });
  if (!isMainThread) return;
  try {
    for (const name of readdirSync(tmpdir())) if (name.startsWith(PREFIX)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  } catch {
    // nothing to remove
  }
});

export function removeSandbox(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
  LIVE.delete(directory);
}

/** The sandbox: a directory, the copies of the user's files under `root/`, and the edits to them. */
export class Sandbox {
  readonly directory = mkdtempSync(join(tmpdir(), PREFIX));

  constructor() {
    LIVE.add(this.directory);
  }

  readonly changes: Change[] = [];
  private readonly edits = new Map<string, Edit[]>();
  private readonly texts = new Map<string, string>();
  private readonly ports = new Map<string, number>();
  /** TLS files the file names (as the program will print them) → the directive's file:line. */
  readonly named = new Map<string, string>();

  /** A file read: it will be copied, line for line, with its edits. */
  add(file: string, text: string): void {
    if (this.texts.size >= MAX_FILES && !this.texts.has(file)) throw new HarnessInputError(`${shortPath(file)}: more than ${MAX_FILES} configuration files included`);
    this.texts.set(file, text);
  }

  get files(): string[] {
    return [...this.texts.keys()];
  }

  /** Where a file of the user's (or of this machine) is copied to. */
  copyOf(file: string): string {
    return join(this.directory, 'root', file);
  }

  /** A path inside the sandbox for the program's own files (pid, logs, sockets). */
  own(name: string): string {
    return join(this.directory, name);
  }

  edit(d: Pick<Directive, 'file' | 'line'>, start: number, end: number, text: string, change?: { from: string; to: string; why: string }): void {
    const list = this.edits.get(d.file) ?? [];
    list.push({ start, end, text });
    this.edits.set(d.file, list);
    if (change) this.changes.push({ where: where(d.file, d.line), ...change, to: change.to.split(this.directory).join('<sandbox>') });
  }

  /** The loopback port for a listen the file writes (the same address and port always get the same one). */
  async port(key: string): Promise<number> {
    let port = this.ports.get(key);
    if (port === undefined) {
      // Two listens must not be handed the same free port.
      do port = await freePort();
      while ([...this.ports.values()].includes(port));
      this.ports.set(key, port);
    }
    return port;
  }

  get allPorts(): number[] {
    return [...this.ports.values()];
  }

  /** Write every copy. */
  write(): void {
    for (const [file, text] of this.texts) {
      const copy = this.copyOf(file);
      mkdirSync(dirname(copy), { recursive: true });
      writeFileSync(copy, applyEdits(text, this.edits.get(file) ?? []));
    }
  }

  /** The program's words with sandbox paths and ports turned back into the user's. */
  translate(text: string): string {
    const root = join(this.directory, 'root');
    const listens = new Map([...this.ports].map(([key, port]) => [String(port), key]));
    return text
      .split(root)
      .join('')
      .replace(/(\/[^\s:"'()\[\]]+)/g, (path) => (path.startsWith(this.directory) ? `<sandbox>${path.slice(this.directory.length)}` : path.startsWith(process.cwd()) ? shortPath(path) : path))
      .replace(/127\.0\.0\.1:(\d+)/g, (whole, port: string) => (listens.has(port) ? `${listens.get(port)} (in the sandbox ${whole})` : whole));
  }

  remove(): void {
    removeSandbox(this.directory);
  }
}

/** Prepare a configuration in a new sandbox, which is removed if preparing fails. */
export async function inSandbox<T>(prepare: (sandbox: Sandbox) => Promise<T>): Promise<T> {
  const sandbox = new Sandbox();
  try {
    return await prepare(sandbox);
  } catch (error) {
    sandbox.remove();
    throw error;
  }
}

/** A local HTTP answer for every backend the file proxies to: the gate never contacts the real ones. */
export class BackendStub {
  private server: Server | null = null;
  port = 0;

  async start(): Promise<number> {
    if (this.server) return this.port;
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('backend stub of the TLS conformance gate\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

/** The program's own configuration test (`nginx -t`, `apache2 -t`, `haproxy -c`): its first complaint is the user's problem, exit 2. */
export function testConfig(prepared: PreparedConfig): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(prepared.command, [...prepared.testArgs], { timeout: 20_000, env: { ...process.env, ...prepared.env } }, (error, stdout, stderr) => {
      if (!error) return resolvePromise();
      const said = prepared.translate(`${stderr}\n${stdout}`);
      const complaint = firstComplaint(said) || (error as Error).message.split('\n')[0]!;
      const file = [...(prepared.named ?? new Map<string, string>())].find(([path]) => complaint.includes(path))?.[1];
      reject(new HarnessInputError(`${placeOf(complaint) ?? file ?? shortPath(prepared.file)}: ${programName(prepared)}: ${complaint}`));
    });
  });
}

function programName(prepared: PreparedConfig): string {
  return { nginx: 'nginx -t', apache: 'apache2 -t', haproxy: 'haproxy -c' }[prepared.implementation];
}

/** The user's file:line a program's complaint names (nginx "in f:12", HAProxy "[f:12]", Apache "on line 12 of f"). */
export function placeOf(complaint: string): string | null {
  const m = / in (\S+?):(\d+)\b/.exec(complaint) ?? /\[([^\]\s]+?):(\d+)\]/.exec(complaint);
  if (m) return `${m[1]}:${m[2]}`;
  const apache = /on line (\d+) of (\S+?):/.exec(complaint);
  return apache ? `${apache[2]}:${apache[1]}` : null;
}

/** The line where a program says what is wrong, trimmed of its time stamps and pids. */
export function firstComplaint(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const line =
    lines.find((l) => /\[emerg\]|\[alert\]|\[crit\]/.test(l)) ??
    lines.find((l) => /\[ALERT\]/.test(l)) ??
    lines.find((l) => /^AH\d+|Syntax error|Invalid command|error/i.test(l) && !/\[(warn|notice|info)\]/i.test(l) && !/\[WARNING\]/.test(l)) ??
    lines.find((l) => !/test is successful|syntax is ok|Syntax OK|Configuration file is valid/i.test(l)) ??
    '';
  return line
    .replace(/^nginx: \[(emerg|alert|crit)\]\s*/, '')
    .replace(/^\[ALERT\]\s*\(\d+\)\s*:\s*/, '')
    .replace(/^\[[^\]]*\]\s*/, '')
    .slice(0, 400);
}

/** The program, running the sandboxed file in the foreground, ready when every port listens. */
export async function startProgram(prepared: PreparedConfig): Promise<{ stop(): Promise<void> }> {
  const child = spawnTracked(prepared.command, [...prepared.runArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...prepared.env } });
  let said = '';
  child.stdout?.on('data', (c: Buffer) => (said += c.toString('latin1')));
  child.stderr?.on('data', (c: Buffer) => (said += c.toString('latin1')));
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  const deadline = Date.now() + 15_000;
  // Every port listening (read from /proc/net/tcp: ~10 ms a read, so at most every 20 ms), and the pid file written.
  const listening = atMostEvery(20, () => prepared.ports.every(isListening));
  const ready = (): boolean => (!prepared.pidFile || existsSync(prepared.pidFile)) && listening();
  while (!ready()) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await closed;
      throw new HarnessInputError(`${shortPath(prepared.file)}: ${prepared.implementation} stopped at start: ${firstComplaint(prepared.translate(said)) || `exit ${child.exitCode}`}`);
    }
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new HarnessInputError(`${shortPath(prepared.file)}: ${prepared.implementation} did not listen on every port within 15 s: ${firstComplaint(prepared.translate(said))}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { stop: () => stopProcess(child) };
}
