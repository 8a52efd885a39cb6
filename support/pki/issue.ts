/**
 * A certificate authority you can read in one sitting (after mkcert):
 * `generateKey`, `issueCertificate`, `issueEcCertificate`.
 *
 * node-forge builds and signs the certificates; the RSA keys come from Node's
 * native generator (forge delegates to `crypto.generateKeyPair` when given a
 * callback), which is ~50x faster than forge's JavaScript prime search.
 *
 * ECDSA leaves: node-forge only knows RSA keys. The smallest sound way we
 * found, with no new dependency: Node generates the P-256 key; forge builds
 * the TBSCertificate as for any leaf, and we put the EC key's
 * SubjectPublicKeyInfo (DER from Node) in its place before the issuer, an RSA
 * CA, signs it with forge. The result is an ordinary X.509 certificate (ECDSA
 * key, sha256WithRSAEncryption signature), which every implementation here
 * verifies. Alternatives were a second certificate library (@peculiar/x509,
 * pkijs) or shelling out to `openssl req`, which would make the PKI depend on
 * the openssl program being installed.
 */
import forge from 'node-forge';
import { generateKeyPair as generateNativeKeyPair, randomBytes } from 'node:crypto';
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
export function issueCertificate(profile: Profile, keys: KeyPair, issuer: Issuer | null, now: Date, keyIdentifier = true): forge.pki.Certificate {
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
    // Computed from the key; left out for the EC leaf, whose key forge cannot read (optional for leaves, RFC 5280 4.2.1.2).
    ...(keyIdentifier ? [{ name: 'subjectKeyIdentifier' }] : []),
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

export interface EcKey {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKeyDer: Buffer;
}

export function generateEcKey(): Promise<EcKey> {
  return new Promise((resolve, reject) => {
    generateNativeKeyPair(
      'ec',
      { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } },
      (error, publicKeyDer, privateKeyPem) => (error ? reject(error) : resolve({ privateKeyPem, publicKeyDer })),
    );
  });
}

/** An ECDSA-keyed leaf signed by an RSA issuer: forge's TBSCertificate with the EC key spliced in (see the module comment). */
export function issueEcCertificate(profile: Profile, key: EcKey, issuer: Issuer, now: Date): { pem: string; certificate: forge.pki.Certificate } {
  // Build the certificate with the issuer's RSA key as a stand-in public key; it is replaced below.
  const cert = issueCertificate(profile, { publicKey: issuer.keys.publicKey, privateKey: issuer.keys.privateKey } as KeyPair, issuer, now, false);
  const tbs = (pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  // TBSCertificate: version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, extensions
  (tbs.value as forge.asn1.Asn1[])[6] = forge.asn1.fromDer(forge.util.createBuffer(key.publicKeyDer.toString('binary')));
  const tbsDer = forge.asn1.toDer(tbs).getBytes();
  const digest = forge.md.sha256.create();
  digest.update(tbsDer);
  const signature = issuer.keys.privateKey.sign(digest);
  const { asn1 } = forge;
  const certificateAsn1 = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(pki.oids['sha256WithRSAEncryption']!).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + signature),
  ]);
  const pem = forge.pem.encode({ type: 'CERTIFICATE', body: asn1.toDer(certificateAsn1).getBytes() });
  return { pem, certificate: cert };
}

export function certificateToPem(cert: forge.pki.Certificate): string {
  return pki.certificateToPem(cert);
}

/** PKCS#8, the format OpenSSL, Python and Node all read; encrypted (AES-256, PBKDF2) when a passphrase is given. */
export function privateKeyToPem(keys: KeyPair, passphrase?: string): string {
  const info = pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(keys.privateKey));
  if (!passphrase) return pki.privateKeyInfoToPem(info);
  return pki.encryptedPrivateKeyToPem(pki.encryptPrivateKeyInfo(info, passphrase, { algorithm: 'aes256' }));
}
