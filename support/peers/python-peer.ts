/**
 * The Python peer process (python/peer.py): started once per process that
 * needs it, then asked over JSON lines to start servers and make client
 * requests. Python with eventlet takes ~1 s to start; a handshake ~2 ms.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { spawnTracked, stopProcess } from '../processes';
import type { Availability } from './types';

/** Debian's interpreter: the one with python3-eventlet and python3-requests from apt (the pyenv one on PATH has neither). */
export const PYTHON = process.env.TLS_CONFORMANCE_PYTHON ?? '/usr/bin/python3';
export const PYTHON_HINT = 'apt-get install -y python3 python3-eventlet python3-requests';
const PEER = join(__dirname, 'python', 'peer.py');
const REQUEST_TIMEOUT_MS = 30_000;

type Reply = Record<string, unknown> & { ok: boolean; error?: string };

class PythonPeer {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private stderr = '';
  readonly ready: Promise<void>;

  constructor() {
    this.child = spawnTracked(PYTHON, ['-u', PEER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    let markReady!: () => void;
    let failReady!: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => ((markReady = resolve), (failReady = reject)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as Reply & { id?: number; ready?: boolean };
      if (message.ready) return markReady();
      const waiter = this.pending.get(message.id!);
      this.pending.delete(message.id!);
      waiter?.resolve(message);
    });
    this.child.once('exit', (code, signal) => {
      const error = new Error(`the Python peer exited (${signal ?? code}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      failReady(error);
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
    this.child.once('error', (error) => failReady(error));
  }

  async request(op: string, payload: Record<string, unknown> = {}): Promise<Reply> {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the Python peer did not answer ${op} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (reply) => (clearTimeout(timer), resolve(reply)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.child.stdin!.write(JSON.stringify({ id, op, ...payload }) + '\n');
    });
  }

  close(): Promise<void> {
    this.child.stdin!.end(); // the peer stops its servers and exits when stdin closes
    return stopProcess(this.child);
  }
}

let shared: PythonPeer | undefined;

export function pythonPeer(): PythonPeer {
  shared ??= new PythonPeer();
  return shared;
}

export async function closePythonPeer(): Promise<void> {
  const peer = shared;
  shared = undefined;
  await peer?.close();
}

let detected: Promise<Availability> | undefined;

/** Python 3 with eventlet and requests, and the versions of each. Python ≥ 3.12 lacks ssl.wrap_socket: said in the version. */
export function detectPython(): Promise<Availability> {
  detected ??= new Promise((resolve) => {
    const probe = 'import platform, ssl, eventlet, requests; print(platform.python_version(), eventlet.__version__, requests.__version__, ssl.OPENSSL_VERSION.split()[1], hasattr(ssl, "wrap_socket"))';
    execFile(PYTHON, ['-c', probe], { timeout: 10_000 }, (error, stdout) => {
      if (error) return resolve({ available: false, hint: `${PYTHON} with eventlet and requests not found: ${PYTHON_HINT}` });
      const [python, eventlet, requests, openssl, wrapSocket] = stdout.trim().split(' ');
      resolve({
        available: true,
        version: `Python ${python}, eventlet ${eventlet}, requests ${requests}, OpenSSL ${openssl}${wrapSocket === 'True' ? '' : ' (no ssl.wrap_socket: SSLContext equivalent)'}`,
      });
    });
  });
  return detected;
}

