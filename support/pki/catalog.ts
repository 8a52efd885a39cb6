/**
 * The catalog of certificate profiles the features name.
 *
 * A profile is named by what it is, or by its defect the way badssl.com names
 * its hosts (`expired`, `wrong.host`, `self-signed`, `untrusted-root`), never
 * by an implementation detail. Validity is given in days relative to the moment
 * the PKI is built, so the catalog never goes stale by itself: the store
 * rebuilds it before any certificate that should be valid nears its end.
 */

export type ProfileRole = 'ca' | 'server' | 'client';

export interface Validity {
  /** Days from now when the certificate starts being valid (negative = in the past). */
  readonly fromDays: number;
  /** Days from now when it stops being valid (negative = already expired). */
  readonly toDays: number;
}

export interface Profile {
  readonly name: string;
  readonly role: ProfileRole;
  /** Profile whose key signs this certificate; null for a self-signed certificate. */
  readonly issuer: string | null;
  readonly commonName: string;
  /** subjectAltName entries: DNS names and IP addresses (leaves only). */
  readonly hosts: readonly string[];
  readonly validity: Validity;
  /** What a reader should know about the profile (listed in certs/README.md). */
  readonly description: string;
  /** Write a key file that does NOT belong to the certificate (proof-of-key cases). */
  readonly mismatchedKey?: boolean;
  /** `ec`: a P-256 key, for ECDHE-ECDSA suites (see issue.ts for how the certificate is made). Default `rsa`. */
  readonly keyType?: 'rsa' | 'ec';
  /** The certfile holds the leaf followed by its intermediates, as a server must send them. */
  readonly fullChain?: boolean;
  /** Encrypt the key file with this passphrase (PKCS#8, AES-256). */
  readonly passphrase?: string;
}

/** A leaf or CA valid for a year from yesterday: long enough to be cached, short enough to be plausible. */
const CURRENT: Validity = { fromDays: -1, toDays: 365 };
const CA_VALIDITY: Validity = { fromDays: -1, toDays: 3650 };
/** Loopback names the server leaves answer to; the harness only ever dials 127.0.0.1. */
const LOCALHOST = ['localhost', '127.0.0.1', '::1'] as const;

export const CATALOG: readonly Profile[] = [
  // Authorities
  { name: 'server-ca', role: 'ca', issuer: null, commonName: 'Conformance Server CA', hosts: [], validity: CA_VALIDITY,
    description: 'Root CA that issues the server certificates; what a client passes as `verify`.' },
  { name: 'client-ca', role: 'ca', issuer: null, commonName: 'Conformance Client CA', hosts: [], validity: CA_VALIDITY,
    description: 'Root CA that issues the client certificates; what a server passes as `ca_certs`.' },
  { name: 'unrelated-ca', role: 'ca', issuer: null, commonName: 'Unrelated CA', hosts: [], validity: CA_VALIDITY,
    description: 'A root CA nobody in the scenarios trusts by default.' },
  { name: 'intermediate-ca', role: 'ca', issuer: 'server-ca', commonName: 'Conformance Intermediate CA', hosts: [], validity: CA_VALIDITY,
    description: 'Intermediate CA issued by server-ca.' },

  // Server leaves
  { name: 'localhost', role: 'server', issuer: 'server-ca', commonName: 'localhost', hosts: LOCALHOST, validity: CURRENT,
    description: 'The valid server certificate: localhost, 127.0.0.1 and ::1 in subjectAltName, issued by server-ca.' },
  { name: 'expired', role: 'server', issuer: 'server-ca', commonName: 'localhost', hosts: LOCALHOST, validity: { fromDays: -60, toDays: -30 },
    description: 'Server certificate for localhost that expired 30 days ago.' },
  { name: 'not-yet-valid', role: 'server', issuer: 'server-ca', commonName: 'localhost', hosts: LOCALHOST, validity: { fromDays: 30, toDays: 395 },
    description: 'Server certificate for localhost that becomes valid in 30 days.' },
  { name: 'wrong.host', role: 'server', issuer: 'server-ca', commonName: 'wrong.host.example', hosts: ['wrong.host.example'], validity: CURRENT,
    description: 'Valid server certificate, for another host name (wrong.host.example).' },
  { name: 'wildcard', role: 'server', issuer: 'server-ca', commonName: '*.conformance.test', hosts: ['*.conformance.test'], validity: CURRENT,
    description: 'Valid server certificate for *.conformance.test: one label, any name, under conformance.test.' },
  { name: 'cn-only', role: 'server', issuer: 'server-ca', commonName: 'localhost', hosts: [], validity: CURRENT,
    description: 'Valid server certificate naming localhost only in its subject CN, with no subjectAltName.' },
  { name: 'self-signed', role: 'server', issuer: null, commonName: 'localhost', hosts: LOCALHOST, validity: CURRENT,
    description: 'Certificate for localhost signed by its own key.' },
  { name: 'untrusted-root', role: 'server', issuer: 'unrelated-ca', commonName: 'localhost', hosts: LOCALHOST, validity: CURRENT,
    description: 'Certificate for localhost issued by unrelated-ca: an impostor to a client that trusts server-ca.' },
  { name: 'incomplete-chain', role: 'server', issuer: 'intermediate-ca', commonName: 'localhost', hosts: LOCALHOST, validity: CURRENT,
    description: 'Certificate for localhost issued by intermediate-ca, whose certfile holds the leaf alone.' },
  { name: 'full-chain', role: 'server', issuer: 'intermediate-ca', commonName: 'localhost', hosts: LOCALHOST, validity: CURRENT, fullChain: true,
    description: 'Certificate for localhost issued by intermediate-ca, whose certfile holds the leaf and then intermediate-ca.' },
  { name: 'localhost-ecdsa', role: 'server', issuer: 'server-ca', commonName: 'localhost', hosts: LOCALHOST, validity: CURRENT, keyType: 'ec',
    description: 'Certificate for localhost with a P-256 (ECDSA) key, issued by server-ca: what ECDHE-ECDSA suites need.' },
  { name: 'encrypted-key', role: 'server', issuer: 'server-ca', commonName: 'localhost', hosts: LOCALHOST, validity: CURRENT, passphrase: 'conformance',
    description: 'Valid certificate for localhost whose key file is encrypted (passphrase "conformance").' },
  { name: 'mismatched-key', role: 'server', issuer: 'server-ca', commonName: 'localhost', hosts: LOCALHOST, validity: CURRENT, mismatchedKey: true,
    description: "Valid certificate for localhost whose key file holds another certificate's key (unrelated-ca's): it cannot serve." },

  // Client leaves
  { name: 'client', role: 'client', issuer: 'client-ca', commonName: 'conformance client', hosts: [], validity: CURRENT,
    description: 'The valid client certificate, issued by client-ca: what a client passes as `cert`.' },
  { name: 'client-from-unrelated-ca', role: 'client', issuer: 'unrelated-ca', commonName: 'conformance client', hosts: [], validity: CURRENT,
    description: 'Client certificate issued by unrelated-ca, a CA the server does not list in `ca_certs`.' },
  { name: 'client-expired', role: 'client', issuer: 'client-ca', commonName: 'conformance client', hosts: [], validity: { fromDays: -60, toDays: -30 },
    description: 'Client certificate issued by client-ca that expired 30 days ago.' },
];

export const PROFILE_NAMES: readonly string[] = CATALOG.map((p) => p.name);

export function findProfile(name: string): Profile | undefined {
  return CATALOG.find((p) => p.name === name);
}
