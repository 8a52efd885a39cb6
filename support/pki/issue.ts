/**
 * A certificate authority you can read in one sitting (after mkcert):
 * `generateKey`, `selfSign`, `issueCertificate`.
 *
 * node-forge builds and signs the certificates; the RSA keys come from Node's
 * native generator (forge delegates to `crypto.generateKeyPair` when given a
 * callback), which is ~50x faster than forge's JavaScript prime search.
 */
import forge from 'node-forge';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Profile } from './catalog';

const { pki } = forge;
const DAY_MS = 24 * 60 * 60 * 1000;
/** 2048 bits: the minimum OpenSSL 3 accepts at security level 2 (its default). */
const RSA_BITS = 2048;

export type KeyPair = forge.pki.rsa.KeyPair;

export function generateKey(): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    pki.rsa.generateKeyPair({ bits: RSA_BITS, e: 0x10001 }, (error, keys) => (error ? reject(error) : resolve(keys)));
  });
}

export interface Issuer {
  readonly certificate: forge.pki.Certificate;
  readonly keys: KeyPair;
}

/**
 * Build and sign the certificate for `profile`. `issuer` is null for a
 * self-signed certificate (roots and the `self-signed` leaf).
 */
export function issueCertificate(profile: Profile, keys: KeyPair, issuer: Issuer | null, now: Date): forge.pki.Certificate {
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  // RFC 5280 4.1.2.2: positive, at most 20 octets. A leading 0x01 keeps it positive.
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  cert.validity.notBefore = new Date(now.getTime() + profile.validity.fromDays * DAY_MS);
  cert.validity.notAfter = new Date(now.getTime() + profile.validity.toDays * DAY_MS);
  const subject = [{ name: 'commonName', value: profile.commonName }, { name: 'organizationName', value: 'TLS conformance harness' }];
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.certificate.subject.attributes : subject);

  const isCa = profile.role === 'ca';
  const extensions: object[] = [
    { name: 'basicConstraints', cA: isCa, critical: true },
    isCa
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (!isCa) {
    extensions.push({ name: 'extKeyUsage', serverAuth: profile.role === 'server', clientAuth: profile.role === 'client' });
  }
  if (profile.hosts.length > 0) {
    extensions.push({
      name: 'subjectAltName',
      // type 2 = dNSName, type 7 = iPAddress (RFC 5280 4.2.1.6)
      altNames: profile.hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
    });
  }
  if (issuer) {
    // OpenSSL matches the chain by key identifiers when they are present.
    extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: issuer.certificate.generateSubjectKeyIdentifier().getBytes() });
  }
  cert.setExtensions(extensions);
  cert.sign((issuer ?? { keys }).keys.privateKey, forge.md.sha256.create());
  return cert;
}

export function certificateToPem(cert: forge.pki.Certificate): string {
  return pki.certificateToPem(cert);
}

/** PKCS#8, the format OpenSSL, Python and Node all read. */
export function privateKeyToPem(keys: KeyPair): string {
  return pki.privateKeyInfoToPem(pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(keys.privateKey)));
}
