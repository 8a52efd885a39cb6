/**
 * Document 000's and safe_tls.py's own systems, run by the Python peer:
 * - server `python-eventlet`: `ssl.wrap_socket(...)` + `eventlet.wsgi.server(...)`,
 *   monkey-patched as eventlet deployments run (document 000, sections 3-4);
 * - server `python-context`: `create_default_context(Purpose.CLIENT_AUTH, cafile)`
 *   + `load_cert_chain` + `wrap_socket(server_side=True)` (safe_tls.py);
 * - client `requests`: `requests.request('GET', url, verify=..., cert=..., timeout=...)`;
 * - client `python-context`: `create_default_context(Purpose.SERVER_AUTH, cafile)`
 *   + `wrap_socket(raw, server_hostname=...)` (safe_tls.py).
 */
import { SERVER_BASICS, CLIENT_BASICS } from './declared';
import { join } from 'node:path';
import { ConfigurationError } from '../errors';
import { spawnTracked, stopProcess } from '../processes';
import type { ClientSettings, ServerSettings } from '../vocabulary';
import { checkServerFiles, checkClientFiles } from './pem-files';
import { Tail, waitUntilReady } from './process-server';
import { summarizeDer } from './certificate-summary';
import { peerFailure, refusalIn } from './json-lines-peer';
import { detectPython, PYTHON, pythonPeer } from './python-peer';
import { NOT_ACCEPTED, type ClientImplementation, type ClientObservation, type ClientTarget, type RunningServer, type ServerImplementation, type ServerObservation } from './types';

type Wire = Record<string, unknown>;

const LITERAL_SERVER = join(__dirname, 'python', 'literal_server.py');

const refusal = refusalIn;

const fail = (reply: Wire, what: string): never => peerFailure('Python', reply, what);

class PythonRunningServer implements RunningServer {
  readonly host = '127.0.0.1';
  constructor(
    readonly implementation: string,
    readonly port: number,
  ) {}

  async observe(clientPort: number | null, settleMs = 1000): Promise<ServerObservation> {
    const reply = await pythonPeer().request('observe', { server: this.port, clientPort, settleMs });
    if (!reply.ok) fail(reply, 'observe');
    const seen = reply.observation as (Wire & ServerObservation & { clientCertificateDer?: string }) | null;
    const effective = reply.effective as Record<string, string>;
    if (!seen) return { ...NOT_ACCEPTED, effective };
    const { clientCertificateDer, ...rest } = seen;
    return { ...rest, clientCertificate: summarizeDer(clientCertificateDer), effective };
  }

  async close(): Promise<void> {
    await pythonPeer().request('stop_server', { server: this.port });
  }
}

/**
 * Document 000's server exactly as written, in a process of its own that is
 * not monkey-patched (python/literal_server.py). Its evidence is what
 * eventlet.wsgi logs, and whether it died.
 */
async function startAsWritten(settings: ServerSettings): Promise<RunningServer> {
  const child = spawnTracked(PYTHON, ['-u', LITERAL_SERVER, JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = new Tail();
  tail.follow(child);
  try {
    // Ready when it says so: a bare TCP connect-and-close would kill it.
    await waitUntilReady(child, tail, () => /"ready"/.test(tail.peek()), "document 000's server as written");
  } catch {
    const said = tail.peek().trim().split('\n').filter((line) => /Error|error/.test(line)).pop() ?? tail.peek().trim();
    await stopProcess(child);
    throw new ConfigurationError('server', `document 000's server as written did not start: ${said}`);
  }
  const ready = JSON.parse(tail.take().split('\n').find((line) => line.includes('"ready"'))!) as { ready: number; socket: string };
  return {
    implementation: 'python-eventlet',
    host: '127.0.0.1',
    port: ready.ready,
    async observe(_clientPort, settleMs = 1000) {
      const text = await tail.takeWhen((t) => /"(log|died)"/.test(t), Math.min(settleMs, 300));
      const said = text
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { log?: string; died?: string });
      const logs = said.filter((m) => m.log).map((m) => m.log!);
      const died = said.find((m) => m.died)?.died;
      const effective = { process: 'not monkey-patched', listening_socket: ready.socket };
      if (logs.length === 0 && !died) return { ...NOT_ACCEPTED, effective };
      return {
        ...NOT_ACCEPTED,
        accepted: true,
        errors: [...logs.map((message) => ({ code: 'eventlet.wsgi log', message })), ...(died ? [{ code: 'server died', message: died }] : [])],
        // eventlet.wsgi reads the TLS records themselves as the request line, and answers 400 in the clear.
        requests: logs.filter((line) => /" 400 /.test(line)).map(() => ({ method: '(TLS records read as HTTP)', path: '', status: 400 })),
        effective,
      };
    },
    close: () => stopProcess(child),
  };
}

function pythonServer(name: string, summary: string, supports: ServerImplementation['supports']): ServerImplementation {
  const asWritten = supports.includes('as_written');
  return {
    name,
    summary,
    supports,
    detect: detectPython,
    reusable: (settings) => !(asWritten && settings.as_written),
    async start(settings: ServerSettings): Promise<RunningServer> {
      checkServerFiles(settings);
      if (asWritten && settings.as_written) return startAsWritten(settings);
      const reply = await pythonPeer().request('start_server', { kind: name, settings });
      const refused = refusal(reply);
      if (refused) throw refused;
      if (!reply.ok) fail(reply, `start ${name}`);
      return new PythonRunningServer(name, reply.port as number);
    },
  };
}

/**
 * Python's ssl has no group list for a server (set_ecdh_curve names one curve, TLS 1.2 only) and the documents'
 * servers set no SSLContext options, so neither server declares groups or server_preferred_order.
 */
const PYTHON_SERVER_SETTINGS = [...SERVER_BASICS, 'alpn_protocols', 'do_handshake_on_connect'] as const;

export const pythonEventletServer = pythonServer(
  'python-eventlet',
  "document 000: ssl.wrap_socket on an eventlet listener, served by eventlet.wsgi.server (monkey-patched)",
  // Document 000's own parameters: npn_protocols (eventlet's green wrap_socket takes it), the as-written form, wrap_socket or its SSLContext equivalent.
  [...PYTHON_SERVER_SETTINGS, 'npn_protocols', 'as_written', 'wrap_with'],
);
export const pythonContextServer = pythonServer(
  'python-context',
  'safe_tls.py: create_default_context(Purpose.CLIENT_AUTH, cafile) + load_cert_chain + wrap_socket(server_side=True)',
  [...PYTHON_SERVER_SETTINGS, 'end_without_close_notify', 'context'],
);

function pythonClient(name: string, op: string, summary: string, supports: ClientImplementation['supports']): ClientImplementation {
  return {
    name,
    summary,
    supports,
    detect: detectPython,
    async attempt(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
      checkClientFiles(settings);
      const reply = await pythonPeer().request(op, { target, settings });
      const refused = refusal(reply);
      if (refused) throw refused;
      if (!reply.ok) fail(reply, name);
      const { serverCertificateDer, ...seen } = reply.observation as Wire & ClientObservation & { serverCertificateDer?: string };
      return { ...seen, keyExchange: null, sessionReused: false, verified: settings.verify !== false, serverCertificate: summarizeDer(serverCertificateDer) };
    },
  };
}

export const requestsClient = pythonClient('requests', 'requests', "document 000: requests.request('GET', url, verify=..., cert=..., timeout=...)", CLIENT_BASICS);
export const pythonContextClient = pythonClient(
  'python-context',
  'context_client',
  'safe_tls.py: create_default_context(Purpose.SERVER_AUTH, cafile) + wrap_socket(server_hostname=...)',
  [...CLIENT_BASICS, 'suppress_ragged_eofs', 'ignore_unexpected_eof', 'context'],
);
