/** What the gate reads from the certificates themselves: chain, names, dates, key and signature. */
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { Policy } from './policy';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Signature algorithm OIDs (RFC 3279, 4055, 5758) by name. */
const SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
};

export function certificatesInPem(pem: string): X509Certificate[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
}

/** Node 20's X509Certificate does not say how the certificate was signed: read the outer AlgorithmIdentifier. */
export function signatureAlgorithm(cert: X509Certificate): string {
  const outer = forge.asn1.fromDer(forge.util.createBuffer(cert.raw.toString('binary')));
  const algorithm = (outer.value as forge.asn1.Asn1[])[1]!;
  const oid = forge.asn1.derToOid((algorithm.value as forge.asn1.Asn1[])[0]!.value as string);
  return SIGNATURE_ALGORITHMS[oid] ?? oid;
}

export type Check = { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly detail: string; readonly field?: string };

const subjectOf = (cert: X509Certificate): string => cert.subject.split('\n').join(', ');

/** The leaf chains to one of the client's trusted CAs, through the intermediates the server sends. */
export function checkChain(served: readonly X509Certificate[], trusted: readonly X509Certificate[]): { signed: Check; complete: Check } {
  let current = served[0]!;
  const path = [subjectOf(current)];
  const intermediates = served.slice(1);
  for (let depth = 0; depth < 8; depth++) {
    const root = trusted.find((ca) => current.checkIssued(ca) && current.verify(ca.publicKey));
    if (root) {
      return { signed: { ok: true, detail: `chains to ${subjectOf(root)}: ${[...path, subjectOf(root)].join(' → ')}` }, complete: { ok: true, detail: 'the server sends every certificate between its leaf and the trusted root' } };
    }
    const next = intermediates.find((ca) => current.checkIssued(ca) && current.verify(ca.publicKey));
    if (!next) {
      // Would it chain if the server sent the missing intermediate? Only the trusted roots can tell: not here.
      const issuer = current.issuer.split('\n').join(', ');
      return {
        signed: { ok: false, detail: `${subjectOf(current)} is issued by ${issuer}, which is neither a CA the client trusts nor a certificate the server sends` },
        complete: { ok: false, detail: `the chain stops at ${subjectOf(current)}: its issuer (${issuer}) is not sent by the server, and the client does not trust it directly` },
      };
    }
    path.push(subjectOf(next));
    current = next;
  }
  return { signed: { ok: false, detail: 'the chain is longer than 8 certificates' }, complete: { ok: false, detail: 'the chain is longer than 8 certificates' } };
}

/**
 * Who refuses a certificate that names its host only in the subject CN:
 * RFC 6125 §6.4.4 and the CA/Browser Forum's Baseline Requirements
 * (§7.1.4.3) leave the CN out of name matching; the clients here still
 * accept it (features/identity.feature, "a CN and no subjectAltName").
 */
export const CN_ONLY_REFUSED_BY = 'Chrome/Chromium (since 58), Firefox, Safari (macOS 10.15, iOS 13), Go (since 1.15) and any client that follows RFC 6125';

/** Names are matched like modern clients match them: in subjectAltName only, never in the subject CN. */
export function checkHostnames(leaf: X509Certificate, hostnames: readonly string[]): Check {
  const names = (name: string): boolean => (isIP(name) ? leaf.checkIP(name) !== undefined : leaf.checkHost(name, { subject: 'never' }) !== undefined);
  const missing = hostnames.filter((name) => !names(name));
  if (missing.length) {
    const cnOnly = missing.filter((name) => !isIP(name) && leaf.checkHost(name, { subject: 'always' }) !== undefined);
    if (cnOnly.length) {
      return { ok: false, detail: `the certificate names ${cnOnly.join(', ')} only in its subject CN (${leaf.subjectAltName ? `subjectAltName ${leaf.subjectAltName}` : 'no subjectAltName'}): ${CN_ONLY_REFUSED_BY} refuse it; put every name in subjectAltName`, field: 'server.certfile' };
    }
    return { ok: false, detail: `the certificate (${leaf.subjectAltName ?? 'no subjectAltName'}) does not name ${missing.join(', ')}` };
  }
  return { ok: true, detail: `the certificate names ${hostnames.join(', ')} in its subjectAltName` };
}

export function checkValidity(leaf: X509Certificate, warningDays: number, now = new Date()): Check {
  const from = Date.parse(leaf.validFrom);
  const to = Date.parse(leaf.validTo);
  if (now.getTime() < from) return { ok: false, detail: `not valid before ${leaf.validFrom}` };
  if (now.getTime() > to) return { ok: false, detail: `expired on ${leaf.validTo}` };
  const left = Math.floor((to - now.getTime()) / DAY_MS);
  if (left < warningDays) return { ok: false, detail: `expires in ${left} days (${leaf.validTo}), within expiry_warning_days (${warningDays})` };
  return { ok: true, detail: `valid until ${leaf.validTo} (${left} days)` };
}

export function checkPolicyCertificate(leaf: X509Certificate, policy: Policy): Check | null {
  if (!policy.certificate) return null;
  const rules = policy.certificate;
  const problems: string[] = [];
  const key = leaf.publicKey;
  const type = key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss' ? 'rsa' : key.asymmetricKeyType === 'ec' ? 'ec' : String(key.asymmetricKeyType);
  const details = key.asymmetricKeyDetails ?? {};
  if (rules.keyTypes && !(rules.keyTypes as readonly string[]).includes(type)) problems.push(`key type ${type} (allowed: ${rules.keyTypes.join(', ')})`);
  if (rules.minRsaBits && type === 'rsa' && (details.modulusLength ?? 0) < rules.minRsaBits) problems.push(`RSA ${details.modulusLength} bits (at least ${rules.minRsaBits})`);
  const curveBits: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };
  if (rules.minEcBits && type === 'ec' && (curveBits[details.namedCurve ?? ''] ?? 0) < rules.minEcBits) problems.push(`curve ${details.namedCurve} (at least ${rules.minEcBits} bits)`);
  if (rules.curves && type === 'ec' && !rules.curves.includes(details.namedCurve ?? '')) problems.push(`curve ${details.namedCurve} (allowed: ${rules.curves.join(', ')})`);
  const signature = signatureAlgorithm(leaf);
  if (rules.signatureAlgorithms && !rules.signatureAlgorithms.includes(signature)) problems.push(`signature ${signature} (allowed: ${rules.signatureAlgorithms.join(', ')})`);
  const lifespan = Math.round((Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / DAY_MS);
  if (rules.maxLifespanDays && lifespan > rules.maxLifespanDays) problems.push(`lifespan ${lifespan} days (at most ${rules.maxLifespanDays})`);
  const described = `${type === 'rsa' ? `RSA ${details.modulusLength}` : `EC ${details.namedCurve}`}, ${signature}, ${lifespan} days`;
  return problems.length ? { ok: false, detail: `${described}: not allowed by ${policy.name}: ${problems.join('; ')}` } : { ok: true, detail: `${described}: allowed by ${policy.name}` };
}
