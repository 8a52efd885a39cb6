/**
 * The project's rule index: every rule the two source documents state, with
 * the same stable ids as the catalog the project was given, a title in our
 * words, and where it comes from. Scenarios carry `@rule:<id>`; a test fails
 * when an id here tags no scenario of an implemented group, or a scenario
 * carries an id that is not here.
 *
 * Documents: 000 = the note on Python's ssl module (one-way and mutual
 * authentication with eventlet and requests); 001 = the TLS chapter notes
 * from "Foundations of Python Network Programming" (safe_tls.py).
 */
export interface RuleEntry {
  readonly id: string;
  readonly title: string;
  readonly source: string;
}

export const RULES: readonly RuleEntry[] = [
  { id: 'one-way.server-needs-cert-and-key', title: 'A server cannot serve TLS without certfile and the keyfile that belongs to it', source: '000 §3.1 server' },
  { id: 'one-way.client-verifies-server', title: "A client whose verify is the server certificate's CA connects and completes a request", source: '000 §3.2 client' },
  { id: 'one-way.verify-must-match-server-cert', title: 'A client whose verify is any other CA rejects the server before any request is sent', source: '000 §3.2 client' },
  { id: 'one-way.unverified-client-is-insecure', title: 'verify=False connects to anything, an impostor included, and is reported insecure', source: '000 §3.2 client' },
  { id: 'one-way.no-client-cert-needed', title: 'With cert_reqs=CERT_NONE a client needs no certificate', source: '000 §3.1 server' },
  { id: 'one-way.flow', title: "The one-way handshake flow: the server's certificate, checked by the client, a suite from the client's offer (and what steps 6-7 get wrong)", source: '000 §3 flow, steps 1-8' },
  { id: 'mutual.server-requires-client-cert', title: 'A server with cert_reqs=CERT_REQUIRED disconnects a client that presents no certificate', source: '000 §4.1 server' },
  { id: 'mutual.client-cert-must-match-ca-certs', title: "The client's cert must be issued by a CA in the server's ca_certs", source: '000 §4.2 client' },
  { id: 'mutual.server-needs-ca-certs', title: 'CERT_REQUIRED without ca_certs cannot verify any client', source: '000 §4.1 server' },
  { id: 'mutual.client-verifies-server-too', title: 'In mutual mode the client still verifies the server; both checks must pass', source: '000 §4.2 client' },
  { id: 'mutual.optional', title: 'CERT_OPTIONAL accepts a client without a certificate but rejects an invalid one', source: '000 §2 SSLSocket cert_reqs' },
  { id: 'mutual.none-ignores-client-cert', title: 'CERT_NONE neither asks for nor checks a client certificate', source: '000 §2 SSLSocket cert_reqs' },
  { id: 'mutual.disconnect-point', title: 'Where the client notices that the server could not verify it', source: '000 §4 flow, step 5' },
  { id: 'mutual.client-cert-is-own', title: "The client's cert is its own certificate and key, not the server's root CA as the document says", source: '000 §4.2 client' },
  { id: 'version.pinned-tls12', title: 'ssl_version=PROTOCOL_TLSv1_2 speaks exactly TLS 1.2', source: '000 §3.1, §4.1 ssl_version' },
  { id: 'version.default-negotiates-highest', title: 'PROTOCOL_TLS negotiates the highest version both ends allow', source: '000 §2 SSLSocket ssl_version' },
  { id: 'version.legacy-refused', title: 'TLS 1.0, 1.1 and SSLv3 clients are refused by a default server', source: '000 §2 SSLSocket ssl_version' },
  { id: 'version.string-is-not-a-constant', title: 'ssl_version="ssl.PROTOCOL_TLSv1_2" (a string) is a configuration error', source: '000 §3.1, §4.1 pseudo-code' },
  { id: 'cipher.restricted-by-ciphers', title: 'ciphers restricts what the server accepts; no common cipher, no handshake', source: '000 §2 SSLSocket ciphers' },
  { id: 'cipher.server-chooses', title: 'The negotiated suite is one the client offered', source: '000 §3 flow, step 5' },
  { id: 'alpn.npn-protocols', title: 'npn_protocols / ALPN: the agreed protocol is reported', source: '000 §2 SSLSocket npn_protocols' },
  { id: 'eof.ragged', title: 'suppress_ragged_eofs decides what a close without close_notify means', source: '000 §2 SSLSocket suppress_ragged_eofs' },
  { id: 'handshake.on-connect', title: 'do_handshake_on_connect=False moves the handshake to first I/O with the same outcomes', source: '000 §2 SSLSocket do_handshake_on_connect' },
  { id: 'seed.server-as-written', title: "Document 000's server run as written, and as eventlet deployments run it", source: '000 §3.1, §4.1 pseudo-code' },
  { id: 'wrap-socket.deprecated', title: 'ssl.wrap_socket and its SSLContext equivalent give the same outcomes', source: '000 §2 SSLSocket' },
  { id: 'privacy.content-protected', title: 'Path, bodies, passwords and cookies are hidden from a passive observer', source: '001 what TLS protects' },
  { id: 'privacy.metadata-visible', title: 'Addresses, ports, DNS, SNI and approximate sizes are visible to a passive observer', source: '001 what TLS does not protect' },
  { id: 'identity.ca-signed', title: 'The server certificate must be signed by an authority the client trusts', source: '001 TLS steps' },
  { id: 'identity.proof-of-key', title: 'The server must prove it holds the key of its certificate', source: '001 TLS steps' },
  { id: 'identity.hostname-matches', title: "The certificate's identity must match the host the client meant to reach", source: '001 TLS steps' },
  { id: 'identity.validity-period', title: 'Expired and not-yet-valid certificates are rejected', source: '001 TLS steps' },
  { id: 'identity.chain', title: 'A leaf served without its intermediate is rejected; with it, accepted', source: '001 TLS steps' },
  { id: 'identity.negotiation', title: 'Suite, compression (none) and keys are negotiated before data flows', source: '001 TLS steps' },
  { id: 'fs.question', title: 'A recorded session can be decrypted with a leaked key under RSA key transport, not under ECDHE or TLS 1.3', source: '001 forward secrecy question' },
  { id: 'termination.proxy', title: 'The same rules hold when nginx or Apache terminates TLS', source: '001 third-party tools' },
  { id: 'safe-tls.defaults', title: 'create_default_context verifies by default on clients, and does not require client certificates on servers', source: '001 safe_tls.py' },
];

/** Every rule group: each of their rules must tag at least one scenario. */
export const IMPLEMENTED_GROUPS: readonly string[] = [...new Set(RULES.map((rule) => rule.id.split('.')[0]!))];

export function findRule(id: string): RuleEntry | undefined {
  return RULES.find((rule) => rule.id === id);
}
