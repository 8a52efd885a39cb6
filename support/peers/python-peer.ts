/**
 * The Python peer process (python/peer.py): started once per process that
 * needs it, then asked over JSON lines to start servers and make client
 * requests. Python with eventlet takes ~1 s to start; a handshake ~2 ms.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { JsonLinesPeer } from './json-lines-peer';
import type { Availability } from './types';

/** Debian's interpreter: the one with python3-eventlet and python3-requests from apt (the pyenv one on PATH has neither). */
export const PYTHON = process.env.TLS_CONFORMANCE_PYTHON ?? '/usr/bin/python3';
export const PYTHON_HINT = 'apt-get install -y python3 python3-eventlet python3-requests';
const PEER = join(__dirname, 'python', 'peer.py');
const REQUEST_TIMEOUT_MS = 30_000;

let shared: JsonLinesPeer | undefined;

export function pythonPeer(): JsonLinesPeer {
  shared ??= new JsonLinesPeer('Python', { command: PYTHON, args: ['-u', PEER] }, REQUEST_TIMEOUT_MS);
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

