/** Certificates another implementation reports (DER, PEM), summarised like Node's own peer certificates. */
import { X509Certificate } from 'node:crypto';
import type { CertificateSummary } from './types';

/**
 * Summaries already made, by the certificate's text (base64 DER or PEM): a run meets the same few certificates in
 * thousands of attempts, and parsing one costs ~0.3 ms. The summary is a function of the bytes alone.
 */
const summaries = new Map<string, CertificateSummary>();
const MAX_SUMMARIES = 1000;

/** The summary of a certificate given as text (base64 DER or PEM), parsed once. */
export function summarizeText(text: string, parse: (text: string) => X509Certificate): CertificateSummary {
  let summary = summaries.get(text);
  if (!summary) {
    summary = summarizeCertificate(parse(text));
    if (summaries.size >= MAX_SUMMARIES) summaries.clear();
    summaries.set(text, summary);
  }
  return summary;
}

/** A DER certificate from another implementation (base64), summarised like Node's own peer certificates. */
export function summarizeDer(der: unknown): CertificateSummary | null {
  if (typeof der !== 'string' || der === '') return null;
  return summarizeText(der, (text) => new X509Certificate(Buffer.from(text, 'base64')));
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
