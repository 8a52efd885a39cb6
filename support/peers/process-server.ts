/**
 * What the servers that are separate programs (openssl s_server, nginx,
 * apache) share: a temporary directory, a free loopback port, a tracked
 * process, and evidence read from what the program writes (its output or its
 * logs). Attempts on one server come one after another, so the lines written
 * since the previous observation belong to the current attempt.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readAppended } from '../read-appended';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ConfigurationError } from '../errors';
import { spawnTracked, stopProcess } from '../processes';
import { parseSslVersion, TLS_VERSIONS, versionRange, type ServerSettings, type TlsVersion } from '../vocabulary';
import type { RunningServer, ServerObservation } from './types';

/** A value in double quotes, for nginx and Apache configuration files. */
export function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * The TLS versions a configuration file must list, from ssl_version and the
 * version bounds; null when the settings leave the program's default. Also
 * refuses what no configuration file can say (ssl_version as a string, NPN).
 */
export function versionsToList(settings: ServerSettings): TlsVersion[] | null {
  const ssl = parseSslVersion(settings.ssl_version);
  if ('problem' in ssl) throw new ConfigurationError('ssl_version', ssl.problem);
  const range = versionRange(ssl.constant, settings.minimum_version, settings.maximum_version);
  if (!range.min && !range.max) return null;
  return TLS_VERSIONS.slice(TLS_VERSIONS.indexOf(range.min ?? 'TLSv1_2'), TLS_VERSIONS.indexOf(range.max ?? 'TLSv1_3') + 1);
}

export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tls-conformance-${prefix}-`));
}

/**
 * A port the system just gave out on 127.0.0.1: for programs that cannot
 * listen on port 0 themselves and tell which port they got (nginx, apache).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The port given out was taken by someone else before the program bound it. */
export class PortTaken extends Error {}

export const PORT_TAKEN = /Address already in use|could not bind|bind\(\) to .* failed/;

/** Start a program on a free port, and on another one if the first was taken meanwhile. */
export async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (!(error instanceof PortTaken) || tries >= 5) throw error instanceof PortTaken ? new Error('no free port could be bound after 5 tries') : error;
    }
  }
}

/** Text appended to a set of files (or a stream) since it was last read. */
export class Tail {
  /** Per file: the bytes read so far, and what of them is not taken yet. Only new bytes are read each time. */
  private readonly files: { readonly path: string; position: number; pending: string }[];
  private streamed = '';
  private streamedOffset = 0;

  constructor(files: readonly string[] = []) {
    this.files = files.map((path) => ({ path, position: 0, pending: '' }));
  }

  /** Collect a child's output as well. */
  follow(child: ChildProcess): void {
    const append = (chunk: Buffer): void => {
      this.streamed += chunk.toString('latin1');
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
  }

  private readNew(file: { readonly path: string; position: number; pending: string }): void {
    const read = readAppended(file.path, file.position);
    if (!read) return;
    file.position = read.position;
    file.pending += read.text;
  }

  /** What is new, without consuming it. */
  peek(): string {
    let text = this.streamed.slice(this.streamedOffset);
    for (const file of this.files) {
      this.readNew(file);
      text += file.pending;
    }
    return text;
  }

  /** What is new; later reads start after it. */
  take(): string {
    const text = this.peek();
    this.streamedOffset = this.streamed.length;
    for (const file of this.files) file.pending = '';
    return text;
  }

  /** Wait until `done(newText)` holds or `timeoutMs` passes, then take what is new. */
  async takeWhen(done: (text: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.peek()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return this.take();
  }
}

/** Wait until a program's output or a file says it is ready, or fail with what it said. */
export async function waitUntilReady(child: ChildProcess, tail: Tail, ready: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // 'close' comes after the last of the program's output: what it said before exiting is then all in the tail.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  while (!ready()) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await closed;
      throw new Error(`${what} exited: ${tail.peek().trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function stopAndRemove(child: ChildProcess, directory: string): Promise<void> {
  await stopProcess(child);
  rmSync(directory, { recursive: true, force: true });
}

/** A server program that logs to files in its own directory (nginx, apache). */
export interface LoggingServer {
  readonly implementation: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly directory: string;
  readonly port: number;
  /** Its access and error logs: the server end's evidence. */
  readonly logs: readonly string[];
  /** The pid file it writes once it has bound its port. */
  readonly pidFile: string;
  /** Its words for a configuration it refuses, as the error to throw. */
  refusal(output: string): Error | null;
  /** Whether what it logged since the last attempt holds that attempt's story. */
  /** `clientPort`: the connection's client port when the client reported it (its lines may then be recognised by it). */
  settled(text: string, clientPort: number | null): boolean;
  observe(text: string): ServerObservation;
  /**
   * What of the text is about the connection from `clientPort`, when the logs can tell (Apache's can): lines of an
   * earlier connection written late must not become this one's evidence, nor end its wait.
   */
  narrow?(text: string, clientPort: number): string;
}

export async function startLoggingServer(server: LoggingServer): Promise<RunningServer> {
  const tail = new Tail(server.logs);
  const child = spawnTracked(server.command, server.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  tail.follow(child);
  try {
    // Ready once its pid file is written: nginx and Apache write it after they have bound and listen on their ports (a
    // port taken by someone else makes them exit before), so no listening socket needs to be looked for (reading
    // /proc/net/tcp costs ~10 ms: the kernel walks its whole connection table for it).
    await waitUntilReady(child, tail, () => existsSync(server.pidFile), server.implementation);
  } catch (error) {
    const said = tail.peek();
    await stopAndRemove(child, server.directory);
    if (PORT_TAKEN.test(said)) throw new PortTaken();
    throw server.refusal(said) ?? error;
  }
  tail.take();
  return {
    implementation: server.implementation,
    host: '127.0.0.1',
    port: server.port,
    async observe(clientPort, settleMs = 1000) {
      const ours = (text: string): string => (clientPort !== null && server.narrow ? server.narrow(text, clientPort) : text);
      return server.observe(ours(await tail.takeWhen((text) => server.settled(ours(text), clientPort), settleMs)));
    },
    close: () => stopAndRemove(child, server.directory),
  };
}

const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/**
 * A check that reads /proc/net/tcp, made only after `delayMs` and then at most
 * once per `everyMs` (false in between). The kernel writes
 * that file afresh at each read, walking its whole connection table: ~10 ms a
 * read during a run, far too much for a 5 ms poll or for every attempt.
 */
export function atMostEvery(everyMs: number, check: () => boolean, options: { delayMs?: number } = {}): () => boolean {
  const start = performance.now();
  let last = -Infinity;
  return () => {
    const now = performance.now();
    if (now - start < (options.delayMs ?? 0) || now - last < everyMs) return false;
    last = now;
    return check();
  };
}

/**
 * Whether the server's end of the connection from 127.0.0.1:`clientPort` to
 * 127.0.0.1:`serverPort` is still open (SYN_RECV, ESTABLISHED, or CLOSE_WAIT:
 * the client closed and the server has not yet), read from /proc/net/tcp.
 * Once it is not, the server is done with that connection.
 */
export function serverSideOpen(serverPort: number, clientPort: number): boolean {
  try {
    const text = readFileSync('/proc/net/tcp', 'latin1');
    const needle = `0100007F:${hexPort(serverPort)} 0100007F:${hexPort(clientPort)} `;
    const at = text.indexOf(needle);
    if (at < 0) return false;
    const state = text.slice(at + needle.length, at + needle.length + 2);
    return state === '01' || state === '03' || state === '08';
  } catch {
    return true; // cannot tell: the caller waits as it would without this
  }
}

/** Whether something listens on 127.0.0.1:port, read from /proc/net/tcp: no connection is made. */
export function isListening(port: number): boolean {
  try {
    // A listening socket's line: "<sl>: 0100007F:<PORT> 00000000:0000 0A ..." (0A = LISTEN). One search, no split:
    // the file has a line per socket of the machine, thousands during a run.
    return readFileSync('/proc/net/tcp', 'latin1').includes(`0100007F:${hexPort(port)} 00000000:0000 0A `);
  } catch {
    return false;
  }
}
