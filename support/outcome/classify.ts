/**
 * From two raw observations to one outcome: who ended the connection, why,
 * and where the client noticed. The reasons come from error-map.ts only.
 */
import type { ClientObservation, RawError, ServerObservation } from '../peers/types';
import { ALERTS, alertIn, lookUp, sentAlertIn } from './error-map';
import type { Alert, EndedBy, Outcome, Phase, Reason, Verdict } from './vocabulary';

interface Ending {
  readonly endedBy: EndedBy;
  readonly reason: Reason;
  readonly alert: Alert | null;
}

function firstAlert(errors: readonly (RawError | null)[], sentBy: Alert['sentBy']): Alert | null {
  for (const error of errors) {
    const alert = alertIn(error);
    if (alert) return { ...alert, sentBy };
  }
  return null;
}

function ending(client: ClientObservation, server: ServerObservation): Ending {
  const clientErrors = [client.socketError, client.requestError];
  const fromServer = firstAlert(clientErrors, 'server'); // an alert the client received
  const fromClient = firstAlert([server.rejection, ...server.errors], 'client'); // an alert the server received
  const clientEntry = lookUp(client.socketError) ?? lookUp(client.requestError);

  if (clientEntry?.meaning === 'verification') {
    return { endedBy: 'client', reason: clientEntry.reason, alert: fromClient };
  }
  if (server.rejection) {
    // The server's own verification error says more than its generic "certificate verify failed".
    const verification = server.verificationError ? lookUp({ message: server.verificationError }) : null;
    // The alert the client received; else the one the server says it sent (a reset can destroy an alert in flight:
    // a client whose next bytes were already on their way makes the server's close a reset).
    const sent = sentAlertIn(server.rejection);
    const alert = fromServer ?? (sent ? { ...sent, sentBy: 'server' as const } : null);
    const reason = verification?.reason ?? lookUp(server.rejection)?.reason ?? (alert ? ALERTS[alert.code]?.reason : undefined) ?? 'unclassified';
    return { endedBy: 'server', reason, alert };
  }
  if (fromServer) return { endedBy: 'server', reason: ALERTS[fromServer.code]?.reason ?? 'unclassified', alert: fromServer };
  if (fromClient) return { endedBy: 'client', reason: ALERTS[fromClient.code]?.reason ?? 'unclassified', alert: fromClient };
  if (client.timedOut) return { endedBy: 'neither', reason: 'timeout', alert: null };
  if (clientEntry?.meaning === 'refusal') return { endedBy: 'client', reason: clientEntry.reason, alert: null };
  return { endedBy: 'neither', reason: clientEntry?.reason ?? 'unclassified', alert: null };
}

const VERDICT: Record<EndedBy, Verdict> = {
  server: 'server rejected client',
  client: 'client rejected server',
  neither: 'failed',
};

/** One spelling per version: OpenSSL's programs say "TLSv1.0" where the libraries say "TLSv1". */
export function normalizeProtocol(protocol: string | null): string | null {
  return protocol === 'TLSv1.0' ? 'TLSv1' : protocol;
}

export function classify(client: ClientObservation, server: ServerObservation, durationMs: number): Outcome {
  const common = {
    protocol: normalizeProtocol(client.protocol ?? server.protocol),
    cipher: client.cipher ?? server.cipher,
    keyExchange: client.keyExchange ?? keyExchangeOf(client.protocol ?? server.protocol, client.cipher ?? server.cipher),
    compression: client.compression ?? null,
    alpn: client.alpn,
    endError: client.endError ? `${client.endError.code ?? ''} ${client.endError.message}`.trim() : null,
    insecure: !client.verified,
    sessionReused: client.sessionReused,
    requestReachedServer: server.requests.length > 0,
    serverCertificate: client.serverCertificate,
    clientCertificate: server.clientCertificate,
    durationMs,
    evidence: { client, server },
  };
  if (client.response) {
    const status = client.response.status;
    if (status < 400) {
      return { ...common, verdict: 'connected', connected: true, httpStatus: status, endedBy: 'neither', reason: null, phase: null, alert: null };
    }
    return { ...common, verdict: 'server rejected client', connected: false, httpStatus: status, endedBy: 'server', reason: 'http_error', phase: 'http', alert: null };
  }
  const end = ending(client, server);
  const phase: Phase = client.handshakeCompleted ? 'first read' : 'handshake';
  return { ...common, verdict: VERDICT[end.endedBy], connected: false, httpStatus: null, ...end, phase };
}

/**
 * The key exchange a suite implies, for clients that cannot report it:
 * TLS 1.3 always uses an ephemeral (EC)DHE share; a TLS 1.2 suite named
 * ECDHE-/DHE- is ephemeral; any other TLS 1.2 suite is RSA key transport.
 */
export function keyExchangeOf(protocol: string | null, cipher: string | null): string | null {
  if (!protocol || !cipher) return null;
  if (protocol === 'TLSv1.3') return 'ephemeral (TLS 1.3)';
  if (/^(ECDHE|TLS_ECDHE)/.test(cipher)) return 'ECDHE';
  if (/^(DHE|EDH|TLS_DHE)/.test(cipher)) return 'DHE';
  return 'RSA key transport';
}

/** One line a person reads: "server rejected client: certificate_required (alert 116 from the server, on first read)". */
export function describeOutcome(outcome: Outcome): string {
  const tls = [outcome.protocol, outcome.cipher].filter(Boolean).join(' ');
  if (outcome.connected) {
    return `request completes (HTTP ${outcome.httpStatus}${tls ? `, ${tls}` : ''})${outcome.insecure ? ' [insecure: the client did not verify the server]' : ''}`;
  }
  const alert = outcome.alert ? `alert ${outcome.alert.code} ${outcome.alert.name} from the ${outcome.alert.sentBy}` : 'no alert';
  const who = outcome.verdict === 'failed' ? 'connection failed' : outcome.verdict;
  return `${who}: ${outcome.reason} (${alert}, noticed by the client at ${outcome.phase}${outcome.httpStatus ? `, HTTP ${outcome.httpStatus}` : ''})`;
}
