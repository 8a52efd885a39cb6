/**
 * The one outcome vocabulary. Every implementation's raw errors end up as one
 * of these reasons (see error-map.ts); scenarios and reports speak only these.
 */
import type { CertificateSummary, ClientObservation, ServerObservation } from '../peers/types';

export const REASONS = {
  certificate_required: 'the server demanded a client certificate and the client presented none',
  unknown_ca: 'the peer certificate does not chain to a CA the verifying end trusts (self-signed, unrelated root, missing intermediate)',
  bad_certificate: 'the peer certificate is unusable for another reason (bad signature, wrong key usage)',
  certificate_expired: 'the peer certificate has expired',
  certificate_not_yet_valid: 'the peer certificate is not valid yet',
  hostname_mismatch: 'the server certificate is valid but for another name than the one the client meant to reach',
  missing_certificate: 'the server has no certificate or no key to present, so no handshake can complete',
  no_signature_algorithm: "no signature algorithm both ends accept for the server's key (TLS 1.0/1.1 need SHA-1, refused at OpenSSL 3's default security level; also what OpenSSL says when the server has no certificate)",
  no_application_protocol: 'the server supports none of the application protocols (ALPN) the client offered',
  protocol_version: 'no TLS version both ends accept',
  no_shared_cipher: 'no cipher suite both ends accept',
  handshake_failure: 'the handshake failed and neither end said more than handshake_failure',
  reset_without_alert: 'the connection was dropped with no alert and no reason at either end',
  timeout: 'no answer within the client timeout',
  connection_refused: 'nothing accepted the TCP connection: no server is listening',
  http_error: 'TLS completed but the server answered with an HTTP error status',
  unclassified: 'an error the error map does not know yet (the raw evidence says what)',
} as const;
export type Reason = keyof typeof REASONS;

/** Where the client (the party that asked) learned of the disconnect. */
export type Phase = 'handshake' | 'first read' | 'http';
export type EndedBy = 'server' | 'client' | 'neither';
export type Verdict = 'connected' | 'server rejected client' | 'client rejected server' | 'failed';

export interface Alert {
  readonly code: number;
  readonly name: string;
  /** Which end sent it. */
  readonly sentBy: 'server' | 'client';
}

/** One connection attempt, observed from both ends. */
export interface Outcome {
  readonly verdict: Verdict;
  /** TLS completed at both ends and the request got a non-error HTTP answer. */
  readonly connected: boolean;
  readonly httpStatus: number | null;
  readonly protocol: string | null;
  readonly cipher: string | null;
  readonly keyExchange: string | null;
  readonly compression: string | null;
  /** The application protocol agreed by ALPN, null for none; undefined when the client does not report it (a check on it is then not run). */
  readonly alpn: string | null | undefined;
  /** The client's error after the response had begun, if it raised one (a truncated response). */
  readonly endError: string | null;
  readonly endedBy: EndedBy;
  readonly reason: Reason | null;
  readonly phase: Phase | null;
  /** The TLS alert seen on the wire, or null when the end that refused sent none. */
  readonly alert: Alert | null;
  /** The client did not verify the server (`verify=False`): the connection proves nothing about who answered. */
  readonly insecure: boolean;
  readonly sessionReused: boolean;
  readonly requestReachedServer: boolean;
  readonly serverCertificate: CertificateSummary | null;
  readonly clientCertificate: CertificateSummary | null;
  readonly durationMs: number;
  /** Each end's raw observation, verbatim. */
  readonly evidence: { readonly client: ClientObservation; readonly server: ServerObservation };
}
