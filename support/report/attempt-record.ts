/**
 * What each scenario attaches about its attempt, so that the combination
 * report is built from Cucumber's own messages and stays right under
 * `--parallel` (workers send attachments to the coordinator with their results).
 */
import { shortPath, type ConfigurationError } from '../errors';
import type { Decryption } from '../observer/decrypt-tls12';
import type { Recording } from '../observer/relay';
import { applicationDataBytes, serverNameIndication } from '../observer/tls-records';
import type { Check, PairAttempt } from '../pairs';
import { describeOutcome } from '../outcome/classify';
import type { Outcome } from '../outcome/vocabulary';
import { labelFor } from '../pki';
import type { ClientSettings, ServerSettings } from '../vocabulary';

export const ATTEMPT_MEDIA_TYPE = 'application/vnd.tls-conformance.attempt+json';

export type AttemptVerdict = 'as expected' | 'expected deviation' | 'violated' | 'not checked' | 'not supported';

/** One implementation pair's attempt at one combination, as the scenario attaches it. */
export interface AttemptRecord {
  readonly server: { readonly implementation: string; readonly version: string; readonly settings: Record<string, string> };
  readonly client: { readonly implementation: string; readonly version: string; readonly settings: Record<string, string> };
  readonly checks: readonly Check[];
  readonly verdict: AttemptVerdict;
  readonly actual: string;
  readonly outcome: Outcome | null;
  readonly refusal: { readonly field: string; readonly detail: string; readonly file?: string } | null;
  /** What the passive observer saw, summarised (the bytes themselves stay out of the report). */
  readonly observer?: ObserverSummary;
}

export interface ObserverSummary {
  readonly client: string;
  readonly server: string;
  readonly serverName: string | null;
  readonly bytes: { readonly clientToServer: number; readonly serverToClient: number };
  readonly applicationData: { readonly clientToServer: number; readonly serverToClient: number };
  readonly decryption?: Decryption;
}

export function observerSummary(recording: Recording, decryption?: Decryption): ObserverSummary {
  return {
    client: `${recording.client.address}:${recording.client.port}`,
    server: `${recording.server.address}:${recording.server.port}`,
    serverName: serverNameIndication(recording.clientToServer),
    bytes: { clientToServer: recording.clientToServer.length, serverToClient: recording.serverToClient.length },
    applicationData: { clientToServer: applicationDataBytes(recording.clientToServer), serverToClient: applicationDataBytes(recording.serverToClient) },
    ...(decryption ? { decryption } : {}),
  };
}

export function attemptRecord(attempt: PairAttempt, settings: { server: ServerSettings; client: ClientSettings }): AttemptRecord {
  const { checks, outcome, refusal, unsupported } = attempt;
  // A check an end cannot answer makes the cell "not supported" (–), unless another check was violated: nothing is claimed for it.
  const verdict: AttemptVerdict = checks.length === 0
    ? unsupported ? 'not supported' : 'not checked'
    : checks.some((c) => c.verdict === 'violated')
      ? 'violated'
      : checks.some((c) => c.verdict === 'not supported')
        ? 'not supported'
        : checks.some((c) => c.verdict === 'deviation')
        ? 'expected deviation'
        : 'as expected';
  return {
    server: { implementation: attempt.server.name, version: attempt.server.version, settings: describeServerSettings(settings.server) },
    client: { implementation: attempt.client.name, version: attempt.client.version, settings: describeClientSettings(settings.client) },
    checks,
    verdict,
    actual: outcome ? describeOutcome(outcome) : unsupported ? unsupported.detail : refusal ? refusalText(refusal) : 'no outcome',
    outcome: outcome ?? null,
    refusal: refusal ? { field: refusal.field, detail: refusal.detail, ...(refusal.file ? { file: shortPath(refusal.file) } : {}) } : null,
    ...(attempt.recording ? { observer: observerSummary(attempt.recording, attempt.decryption) } : {}),
  };
}

export function describeServerSettings(settings: ServerSettings): Record<string, string> {
  return compact({
    certfile: labelFor(settings.certfile) ?? '(none)',
    keyfile: labelFor(settings.keyfile) ?? '(none)',
    cert_reqs: settings.cert_reqs ?? '(default)',
    ca_certs: labelFor(settings.ca_certs) ?? '(none)',
    ssl_version: settings.ssl_version,
    minimum_version: settings.minimum_version,
    maximum_version: settings.maximum_version,
    ciphers: settings.ciphers,
  });
}

export function describeClientSettings(settings: ClientSettings): Record<string, string> {
  return compact({
    verify: typeof settings.verify === 'string' ? labelFor(settings.verify) : settings.verify ? 'True' : 'False',
    cert: settings.cert ? labelFor(settings.cert[0]) : '(none)',
    server_hostname: settings.server_hostname,
    minimum_version: settings.minimum_version,
    maximum_version: settings.maximum_version,
    ciphers: settings.ciphers,
  });
}

function compact(entries: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

export function refusalText(refusal: ConfigurationError): string {
  return `server refused its configuration: ${refusal.message}`;
}

