/**
 * What an adapter implements of the documents' vocabulary is declared as a
 * list of settings (`supports` on every implementation). A setting given at a
 * value that asks for something, and not declared, is never dropped in
 * silence: the combination is not run, and its cell says "not supported by
 * <implementation>: <setting>". The adapter itself receives only what it
 * declared, through a view that throws if it reads anything else: an adapter
 * that reads a setting it did not declare fails every run that reaches it.
 */
import { UnsupportedSetting } from '../errors';
import type { ClientSettings, ServerSettings } from '../vocabulary';

/**
 * Settings at the values that ask for nothing: every implementation behaves
 * so without being told (a handshake on connect, a close_notify at the end,
 * Python's default ragged-EOF handling, no document-000 special forms).
 */
export const NEUTRAL: Readonly<Record<string, unknown>> = {
  as_written: false,
  do_handshake_on_connect: true,
  end_without_close_notify: false,
  suppress_ragged_eofs: true,
  ignore_unexpected_eof: true,
};

/** What every server adapter implements: its files, client verification, versions and suites. */
export const SERVER_BASICS = ['certfile', 'keyfile', 'cert_reqs', 'ca_certs', 'ssl_version', 'minimum_version', 'maximum_version', 'ciphers'] as const satisfies readonly (keyof ServerSettings)[];

/** What every client adapter implements of requests' words (Chromium all but `cert`). */
export const CLIENT_BASICS = [
  'verify', 'cert', 'server_hostname', 'timeout', 'minimum_version', 'maximum_version', 'ciphers', 'path', 'headers', 'alpn_protocols',
] as const satisfies readonly (keyof ClientSettings)[];

/** Every setting of the vocabulary, for each end: what a view may be asked about. */
const SERVER_FIELDS: readonly (keyof ServerSettings)[] = [
  'certfile', 'keyfile', 'cert_reqs', 'ca_certs', 'ssl_version', 'minimum_version', 'maximum_version', 'ciphers', 'groups',
  'server_preferred_order', 'as_written', 'alpn_protocols', 'npn_protocols', 'end_without_close_notify', 'do_handshake_on_connect', 'wrap_with', 'context',
];
const CLIENT_FIELDS: readonly (keyof ClientSettings)[] = [
  'verify', 'cert', 'server_hostname', 'timeout', 'minimum_version', 'maximum_version', 'ciphers', 'path', 'headers', 'alpn_protocols',
  'suppress_ragged_eofs', 'ignore_unexpected_eof', 'context',
];
export const VOCABULARY_FIELDS = { server: SERVER_FIELDS, client: CLIENT_FIELDS } as const;

/** The first setting given that `declared` lacks (at a value that asks for something), or undefined. */
export function undeclaredSetting(settings: object, declared: readonly string[]): string | undefined {
  for (const [field, value] of Object.entries(settings)) {
    if (value === undefined || declared.includes(field)) continue;
    if (field in NEUTRAL && NEUTRAL[field] === value) continue;
    return field;
  }
  return undefined;
}

/** For an adapter called directly (its own tests, the bench): refuse what it does not declare, as the pairs layer does. */
export function refuseUndeclared(implementation: string, settings: object, declared: readonly string[]): void {
  const field = undeclaredSetting(settings, declared);
  if (field) throw new UnsupportedSetting(implementation, field);
}

/** An adapter read a setting it did not declare: a bug in the adapter, never a result. */
export class UndeclaredRead extends Error {
  override readonly name = 'UndeclaredRead';
}

/**
 * The settings as the adapter may see them: only the declared ones, in a view
 * that throws UndeclaredRead when the adapter reads any other setting of the
 * vocabulary (a neutral value, which it is not given, included).
 */
export function declaredView<T extends object>(implementation: string, end: 'server' | 'client', settings: T, declared: readonly string[]): T {
  const kept = Object.fromEntries(Object.entries(settings).filter(([field, value]) => value !== undefined && declared.includes(field)));
  const fields = VOCABULARY_FIELDS[end] as readonly string[];
  return new Proxy(kept, {
    get(target, property, receiver) {
      if (typeof property === 'string' && fields.includes(property) && !declared.includes(property)) {
        throw new UndeclaredRead(`the ${implementation} ${end} adapter read ${property}, which it does not declare in its supports list`);
      }
      return Reflect.get(target, property, receiver);
    },
  }) as T;
}
