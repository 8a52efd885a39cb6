/**
 * The one meaning of "the server refused the client", shared by the features'
 * Then steps and the gate's probes. A probe that asks whether the server
 * refuses something learns the answer only when the server ended the
 * connection: when the probe's own client gave up first (it did not trust the
 * server, the name did not match), nothing was learnt about the server.
 */
import type { Outcome, Reason } from './vocabulary';

/** Refusals of the client's certificate, once the server had it. */
export const CERTIFICATE_REASONS: readonly Reason[] = ['unknown_ca', 'bad_certificate', 'certificate_expired', 'certificate_not_yet_valid'];

/**
 * The server ended the connection: it said so (an alert, its own refusal,
 * an HTTP error status), or it dropped a connection its client had no
 * complaint about (a reset without an alert, as Node's server does with a
 * client certificate it does not trust).
 */
export function serverRefused(outcome: Outcome): boolean {
  return outcome.verdict === 'server rejected client' || (outcome.endedBy === 'neither' && outcome.reason === 'reset_without_alert');
}

/** The server refused the certificate the client presented (not its absence). */
export function serverRefusedCertificate(outcome: Outcome): boolean {
  return outcome.verdict === 'server rejected client' && CERTIFICATE_REASONS.includes(outcome.reason!);
}

export type RefusalJudgement =
  | { readonly status: 'held' | 'violated' }
  /** The probe's own client ended it (or nobody did, within the timeout): the question stays open. */
  | { readonly status: 'inconclusive'; readonly because: string };

/** Did the server refuse this probe? Held, violated, or not known. */
export function judgeRefusal(outcome: Outcome): RefusalJudgement {
  if (serverRefused(outcome)) return { status: 'held' };
  if (outcome.connected) return { status: 'violated' };
  if (outcome.endedBy === 'client') return { status: 'inconclusive', because: `the probe's own client ended the connection first (${outcome.reason}), before the server had to decide` };
  return { status: 'inconclusive', because: `the connection ended without either end refusing the other (${outcome.reason})` };
}
