/**
 * What each scenario attaches about its attempt, so that the combination
 * report is built from Cucumber's own messages and stays right under
 * `--parallel` (workers send attachments to the coordinator with their results).
 */
import type { ConfigurationError } from '../errors';
import { describeOutcome } from '../outcome/classify';
import type { Outcome } from '../outcome/vocabulary';
import { labelFor } from '../pki';
import type { ClientSettings, ServerSettings } from '../vocabulary';

export const ATTEMPT_MEDIA_TYPE = 'application/vnd.tls-conformance.attempt+json';

export interface AttemptRecord {
  readonly server: { readonly implementation: string; readonly version: string; readonly settings: Record<string, string> };
  readonly client: { readonly implementation: string; readonly version: string; readonly settings: Record<string, string> };
  readonly expected: readonly string[];
  /** Every expectation held. */
  readonly held: boolean;
  readonly actual: string;
  readonly outcome: Outcome | null;
  readonly refusal: { readonly field: string; readonly detail: string; readonly file?: string } | null;
}

export function describeServerSettings(settings: ServerSettings): Record<string, string> {
  return compact({
    certfile: labelFor(settings.certfile) ?? '(none)',
    keyfile: labelFor(settings.keyfile) ?? '(none)',
    cert_reqs: settings.cert_reqs,
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

export { describeOutcome };
