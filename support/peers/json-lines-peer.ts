/**
 * A long-lived peer process spoken to in JSON lines (the Python peer, the Go
 * peer): it says `{"ready": true}` once, then answers each `{"id", "op", ...}`
 * with a line carrying the same id. Started once per process that needs it;
 * closing its stdin makes it stop its servers and exit.
 */
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { ConfigurationError } from '../errors';
import { spawnTracked, stopProcess } from '../processes';

export type Reply = Record<string, unknown> & { ok: boolean; error?: string };

/** The configuration a peer refused, in the reply's own words, or null. */
export function refusalIn(reply: Record<string, unknown>): ConfigurationError | null {
  const error = reply.configurationError as { field: string; detail: string } | undefined;
  return error ? new ConfigurationError(error.field, error.detail) : null;
}

/** A reply that is not an answer: the peer's own error, as a harness error. */
export function peerFailure(peer: string, reply: Record<string, unknown>, what: string): never {
  throw new Error(`${peer} peer, ${what}: ${String(reply.error ?? 'no answer')}`);
}

export class JsonLinesPeer {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private stderr = '';
  private closing = false;
  readonly ready: Promise<void>;

  /** `program` may still be in the making (the Go peer is built first). */
  constructor(
    private readonly name: string,
    program: { command: string; args: readonly string[] } | Promise<{ command: string; args: readonly string[] }>,
    private readonly timeoutMs: number,
  ) {
    this.ready = Promise.resolve(program).then(({ command, args }) => this.spawn(command, args));
    this.ready.catch(() => undefined); // reported to each request instead
  }

  private spawn(command: string, args: readonly string[]): Promise<void> {
    if (this.closing) return Promise.reject(new Error(`the ${this.name} peer was closed before it started`));
    const child = spawnTracked(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdin!.on('error', () => undefined); // a peer that died is reported by 'exit'
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    return new Promise((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const message = JSON.parse(line) as Reply & { id?: number; ready?: boolean };
        if (message.ready) return resolve();
        const waiter = this.pending.get(message.id!);
        this.pending.delete(message.id!);
        waiter?.resolve(message);
      });
      child.once('exit', (code, signal) => {
        const error = new Error(`the ${this.name} peer exited (${signal ?? code}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        reject(error);
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      });
      child.once('error', reject);
    });
  }

  async request(op: string, payload: Record<string, unknown> = {}, timeoutMs = this.timeoutMs): Promise<Reply> {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the ${this.name} peer did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (reply) => (clearTimeout(timer), resolve(reply)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.child!.stdin!.write(JSON.stringify({ id, op, ...payload }) + '\n');
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.ready.catch(() => undefined);
    if (!this.child) return;
    this.child.stdin!.end(); // the peer stops its servers and exits when stdin closes
    await stopProcess(this.child);
  }
}
