/** Certificates another implementation reports (DER, PEM), summarised like Node's own peer certificates. */
import { X509Certificate } from 'node:crypto';
import type { CertificateSummary } from './types';

/** A DER certificate from another implementation (base64), summarised like Node's own peer certificates. */
export function summarizeDer(der: unknown): CertificateSummary | null {
  if (typeof der !== 'string' || der === '') return null;
  return summarizeCertificate(new X509Certificate(Buffer.from(der, 'base64')));
}

/** A certificate summarised like Node's own peer certificates. */
export function summarizeCertificate(cert: X509Certificate): CertificateSummary {
  const dn = (text: string): string => text.split('\n').join(', ');
  return {
    subject: dn(cert.subject),
    issuer: dn(cert.issuer),
    validFrom: cert.validFrom,
    validTo: cert.validTo,
    ...(cert.subjectAltName ? { subjectAltName: cert.subjectAltName } : {}),
  };
}
