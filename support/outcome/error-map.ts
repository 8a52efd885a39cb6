/**
 * The error map: every raw error text or code any implementation gives,
 * mapped to one reason of the outcome vocabulary (after BoringSSL's ErrorMap).
 * Matching is on OpenSSL's and the libraries' words, never on source line
 * numbers such as `_ssl.c:1006`, which differ between builds.
 */
import type { RawError } from '../peers/types';
import type { Reason } from './vocabulary';

/** TLS alert descriptions (RFC 8446 6.2, RFC 5246 7.2) and the reason each one means. */
export const ALERTS: Readonly<Record<number, { name: string; reason: Reason }>> = {
  40: { name: 'handshake_failure', reason: 'handshake_failure' },
  47: { name: 'illegal_parameter', reason: 'handshake_failure' },
  50: { name: 'decode_error', reason: 'handshake_failure' },
  51: { name: 'decrypt_error', reason: 'handshake_failure' },
  42: { name: 'bad_certificate', reason: 'bad_certificate' },
  43: { name: 'unsupported_certificate', reason: 'bad_certificate' },
  44: { name: 'certificate_revoked', reason: 'bad_certificate' },
  45: { name: 'certificate_expired', reason: 'certificate_expired' },
  46: { name: 'certificate_unknown', reason: 'bad_certificate' },
  48: { name: 'unknown_ca', reason: 'unknown_ca' },
  // GnuTLS's server refuses a client certificate from an unknown CA with it.
  49: { name: 'access_denied', reason: 'bad_certificate' },
  70: { name: 'protocol_version', reason: 'protocol_version' },
  71: { name: 'insufficient_security', reason: 'no_shared_cipher' },
  80: { name: 'internal_error', reason: 'handshake_failure' },
  86: { name: 'inappropriate_fallback', reason: 'protocol_version' },
  112: { name: 'unrecognized_name', reason: 'handshake_failure' },
  116: { name: 'certificate_required', reason: 'certificate_required' },
  120: { name: 'no_application_protocol', reason: 'no_application_protocol' },
};

/** How OpenSSL spells alerts in its error strings ("sslv3 alert handshake failure", "tlsv13 alert certificate required"). */
const ALERT_BY_NAME = new Map(Object.entries(ALERTS).map(([code, a]) => [a.name, Number(code)]));

/** The alert an end says it sent itself ("alert sent: Internal error [80]", the GnuTLS adapter's account of gnutls-serv's words). */
export function sentAlertIn(error: RawError | null): { code: number; name: string } | null {
  const code = error ? /alert sent: [^|[]*\[(\d+)\]/.exec(error.message)?.[1] : undefined;
  return code === undefined ? null : { code: Number(code), name: ALERTS[Number(code)]?.name ?? `alert_${code}` };
}

/** The alert a raw error says was received, or null. */
export function alertIn(error: RawError | null): { code: number; name: string } | null {
  if (!error) return null;
  const text = `${error.code ?? ''} ${error.message}`;
  // "alert number N" (Node, Go's peer), "Received alert [N]" (gnutls-cli), "Received alert 'N'" (gnutls-serv).
  const numbered = /alert number (\d+)|Received alert \[(\d+)\]|Received alert '(\d+)'/i.exec(text);
  if (numbered) {
    const code = Number(numbered[1] ?? numbered[2] ?? numbered[3]);
    return { code, name: ALERTS[code]?.name ?? `alert_${code}` };
  }
  const spelled = /(?:sslv3|tlsv1|tlsv13)[ _]alert[ _]([a-z_ ]+?)(?:[:\],]|$| \()/i.exec(text);
  if (spelled) {
    const name = spelled[1]!.trim().toLowerCase().replace(/ /g, '_');
    const code = ALERT_BY_NAME.get(name);
    if (code !== undefined) return { code, name };
  }
  return null;
}

export type Meaning =
  /** The end that raised it refused the peer's certificate. */
  | 'verification'
  /** The end that raised it refused the handshake (no certificate, no common version or cipher). */
  | 'refusal'
  /** The other end went away without saying why. */
  | 'dropped'
  | 'timeout'
  /** Nothing was listening. */
  | 'unreachable';

export interface ErrorMapEntry {
  readonly pattern: RegExp;
  readonly reason: Reason;
  readonly meaning: Meaning;
}

/** First match wins: specific entries before generic ones. */
export const ERROR_MAP: readonly ErrorMapEntry[] = [
  // Go and GnuTLS, in their own words (support/peers/go.ts, gnutls.ts): before OpenSSL's, as Go says "certificate has
  // expired or is not yet valid" for both, and "is before" tells which.
  { pattern: /x509: certificate has expired or is not yet valid: current time \S+ is before|The certificate chain uses not yet valid certificate/, reason: 'certificate_not_yet_valid', meaning: 'verification' },
  { pattern: /The certificate chain uses expired certificate/, reason: 'certificate_expired', meaning: 'verification' },
  {
    pattern: /x509: certificate is valid for .+, not \S+|x509: certificate relies on legacy Common Name field|x509: cannot validate certificate for \S+ because it doesn't contain any IP SANs|The name in the certificate does not match the expected/,
    reason: 'hostname_mismatch',
    meaning: 'verification',
  },
  { pattern: /x509: certificate signed by unknown authority|The certificate issuer is unknown|The certificate issuer is not a CA/, reason: 'unknown_ca', meaning: 'verification' },
  { pattern: /x509: certificate specifies an incompatible key usage/, reason: 'bad_certificate', meaning: 'verification' },
  { pattern: /tls: client didn't provide a certificate|Error in handshake: (?:Certificate is required|No certificate was found)/, reason: 'certificate_required', meaning: 'refusal' },
  { pattern: /tls: no cipher suite supported by both client and server|Error in handshake: No supported cipher suites have been found/, reason: 'no_shared_cipher', meaning: 'refusal' },
  { pattern: /tls: client offered only unsupported versions|tls: server selected unsupported protocol version|A packet with illegal or unsupported version was received/, reason: 'protocol_version', meaning: 'refusal' },
  { pattern: /tls: client requested unsupported application protocols|tls: server selected unadvertised ALPN protocol|No common application protocol could be negotiated/, reason: 'no_application_protocol', meaning: 'refusal' },
  // Chromium's net::ERR_* words (support/peers/chromium.ts). Chromium says ERR_CERT_DATE_INVALID both ways; the adapter
  // adds "(not valid before|after <date>...)" read from the refused certificate. Without it, which one is not known:
  // the bare word is left unclassified rather than guessed.
  { pattern: /net::ERR_CERT_DATE_INVALID \(not valid before/, reason: 'certificate_not_yet_valid', meaning: 'verification' },
  { pattern: /net::ERR_CERT_DATE_INVALID \(not valid after/, reason: 'certificate_expired', meaning: 'verification' },
  { pattern: /net::ERR_CERT_AUTHORITY_INVALID/, reason: 'unknown_ca', meaning: 'verification' },
  { pattern: /net::ERR_CERT_COMMON_NAME_INVALID/, reason: 'hostname_mismatch', meaning: 'verification' },
  {
    pattern: /net::ERR_CERT_(?:INVALID|CONTAINS_ERRORS|WEAK_SIGNATURE_ALGORITHM|WEAK_KEY|NAME_CONSTRAINT_VIOLATION|VALIDITY_TOO_LONG|REVOKED|UNABLE_TO_CHECK_REVOCATION|NO_REVOCATION_MECHANISM|SYMANTEC_LEGACY|KNOWN_INTERCEPTION_BLOCKED|NON_UNIQUE_NAME)\b|net::ERR_SSL_SERVER_CERT_BAD_FORMAT|net::ERR_SSL_KEY_USAGE_INCOMPATIBLE/,
    reason: 'bad_certificate',
    meaning: 'verification',
  },
  // Chromium's words for a server that refused it: the server's own record (or alert) names the end; alone, they name neither.
  { pattern: /net::ERR_BAD_SSL_CLIENT_AUTH_CERT|net::ERR_SSL_CLIENT_AUTH_CERT_NEEDED/, reason: 'certificate_required', meaning: 'dropped' },
  // BoringSSL's words for a handshake_failure or protocol_version alert, and for no version or suite in common: which, it does not say.
  { pattern: /net::ERR_SSL_(?:VERSION_OR_CIPHER_MISMATCH|OBSOLETE_VERSION_OR_CIPHER)/, reason: 'handshake_failure', meaning: 'refusal' },
  { pattern: /net::ERR_SSL_(?:PROTOCOL_ERROR|UNRECOGNIZED_NAME_ALERT|DECRYPT_ERROR_ALERT|BAD_RECORD_MAC_ALERT)/, reason: 'handshake_failure', meaning: 'refusal' },
  { pattern: /net::ERR_CONNECTION_REFUSED/, reason: 'connection_refused', meaning: 'unreachable' },
  { pattern: /net::ERR_(?:CONNECTION_)?TIMED_OUT/, reason: 'timeout', meaning: 'timeout' },
  { pattern: /net::ERR_(?:CONNECTION_RESET|CONNECTION_CLOSED|CONNECTION_ABORTED|EMPTY_RESPONSE|SOCKET_NOT_CONNECTED)/, reason: 'reset_without_alert', meaning: 'dropped' },
  // Certificate verification (OpenSSL X509_V_ERR_* names as Node reports them, and their texts as Python/curl do)
  { pattern: /CERT_HAS_EXPIRED|certificate has expired/i, reason: 'certificate_expired', meaning: 'verification' },
  { pattern: /CERT_NOT_YET_VALID|certificate is not yet valid/i, reason: 'certificate_not_yet_valid', meaning: 'verification' },
  {
    pattern: /ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|Hostname mismatch|does not match certificate's altnames|not in the cert's altnames|IP address mismatch|doesn't match|no alternative certificate subject name matches|subject name '[^']*' does not match|certificate is not valid for/i,
    reason: 'hostname_mismatch',
    meaning: 'verification',
  },
  {
    pattern: /UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|unable to get (local )?issuer certificate|unable to verify the first certificate|self[- ]signed certificate/i,
    reason: 'unknown_ca',
    meaning: 'verification',
  },
  { pattern: /CERT_SIGNATURE_FAILURE|CERT_REJECTED|INVALID_PURPOSE|CERT_UNTRUSTED|certificate signature failure|unsupported certificate purpose/i, reason: 'bad_certificate', meaning: 'verification' },
  // Refusals by the end that raised the error
  { pattern: /PEER_DID_NOT_RETURN_A_CERTIFICATE|peer did not return a certificate/i, reason: 'certificate_required', meaning: 'refusal' },
  { pattern: /NO_SUITABLE_SIGNATURE_ALGORITHM|no suitable signature algorithm/i, reason: 'no_signature_algorithm', meaning: 'refusal' },
  // OpenSSL 3 as a client at security level 1 refusing a TLS 1.0/1.1 server's SHA-1 signature (Go 1.19's server signs so).
  { pattern: /legacy sigalg disallowed or unsupported/i, reason: 'no_signature_algorithm', meaning: 'refusal' },
  { pattern: /no certificate assigned|missing (rsa )?certificate/i, reason: 'missing_certificate', meaning: 'refusal' },
  { pattern: /NO_APPLICATION_PROTOCOL|no application protocol/i, reason: 'no_application_protocol', meaning: 'refusal' },
  { pattern: /NO_SHARED_CIPHER|no shared cipher|NO_CIPHERS_AVAILABLE|no ciphers available/i, reason: 'no_shared_cipher', meaning: 'refusal' },
  { pattern: /UNSUPPORTED_PROTOCOL|unsupported protocol|NO_PROTOCOLS_AVAILABLE|no protocols available|wrong version number|version too low/i, reason: 'protocol_version', meaning: 'refusal' },
  // Nobody there
  { pattern: /ECONNREFUSED|Connection refused|Couldn't connect to server|Failed to connect/i, reason: 'connection_refused', meaning: 'unreachable' },
  // The peer went away
  { pattern: /ETIMEDOUT|ECONNABORTED|timed? ?out/i, reason: 'timeout', meaning: 'timeout' },
  { pattern: /ECONNRESET|EPIPE|socket hang up|disconnected before secure TLS|EOF occurred in violation of protocol|unexpected eof|Connection reset/i, reason: 'reset_without_alert', meaning: 'dropped' },
];

export function lookUp(error: RawError | null): ErrorMapEntry | null {
  if (!error) return null;
  const text = `${error.code ?? ''} ${error.message}`;
  return ERROR_MAP.find((entry) => entry.pattern.test(text)) ?? null;
}
