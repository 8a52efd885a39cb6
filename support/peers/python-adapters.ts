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
import { ConfigurationError } from '../errors';
import type { ClientSettings, ServerSettings } from '../vocabulary';
import { checkServerFiles, checkClientFiles } from './pem-files';
import { detectPython, pythonPeer, summarizeDer } from './python-peer';
import { NOT_ACCEPTED, type ClientImplementation, type ClientObservation, type ClientTarget, type RunningServer, type ServerImplementation, type ServerObservation } from './types';

type Wire = Record<string, unknown>;

function refusal(reply: Wire): ConfigurationError | null {
  const error = reply.configurationError as { field: string; detail: string } | undefined;
  return error ? new ConfigurationError(error.field, error.detail) : null;
}

function fail(reply: Wire, what: string): never {
  throw new Error(`Python peer, ${what}: ${String(reply.error ?? 'no answer')}`);
}

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

function pythonServer(name: string, summary: string): ServerImplementation {
  return {
    name,
    summary,
    detect: detectPython,
    async start(settings: ServerSettings): Promise<RunningServer> {
      checkServerFiles(settings);
      const reply = await pythonPeer().request('start_server', { kind: name, settings });
      const refused = refusal(reply);
      if (refused) throw refused;
      if (!reply.ok) fail(reply, `start ${name}`);
      return new PythonRunningServer(name, reply.port as number);
    },
  };
}

export const pythonEventletServer = pythonServer('python-eventlet', "document 000: ssl.wrap_socket on an eventlet listener, served by eventlet.wsgi.server (monkey-patched)");
export const pythonContextServer = pythonServer('python-context', 'safe_tls.py: create_default_context(Purpose.CLIENT_AUTH, cafile) + load_cert_chain + wrap_socket(server_side=True)');

function pythonClient(name: string, op: string, summary: string): ClientImplementation {
  return {
    name,
    summary,
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

export const requestsClient = pythonClient('requests', 'requests', "document 000: requests.request('GET', url, verify=..., cert=..., timeout=...)");
export const pythonContextClient = pythonClient('python-context', 'context_client', 'safe_tls.py: create_default_context(Purpose.SERVER_AUTH, cafile) + wrap_socket(server_hostname=...)');
