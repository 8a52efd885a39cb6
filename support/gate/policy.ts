/**
 * Policies the gate checks a server against, as data:
 * - Mozilla's server-side TLS guidelines, from Mozilla's own JSON
 *   (support/gate/mozilla/<version>.json): `mozilla-modern`,
 *   `mozilla-intermediate`, `mozilla-old`, the newest guideline that has the
 *   configuration by default, or pinned: `mozilla-intermediate@5.7`;
 * - a policy file (YAML or JSON), every field optional but `name`; a field
 *   that is absent is a check the gate skips, saying so:
 *
 *   name: our-policy
 *   versions: [TLSv1_2, TLSv1_3]                       # SSLv3 | TLSv1 | TLSv1_1 | TLSv1_2 | TLSv1_3
 *   tls13_ciphers: [TLS_AES_128_GCM_SHA256, ...]
 *   tls12_ciphers: [ECDHE-RSA-AES128-GCM-SHA256, ...]  # suites below TLS 1.3 (OpenSSL names)
 *   groups: [X25519, prime256v1, secp384r1]            # key exchange groups (OpenSSL names)
 *   min_dh_bits: 2048
 *   min_ecdh_bits: 256
 *   server_preferred_order: false
 *   ocsp_staple: true
 *   hsts_min_age: 63072000
 *   certificate:
 *     key_types: [rsa, ec]
 *     curves: [prime256v1, secp384r1]
 *     min_rsa_bits: 2048
 *     min_ec_bits: 256
 *     signature_algorithms: [sha256WithRSAEncryption, ecdsa-with-SHA256, ...]
 *     max_lifespan_days: 366
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import { HarnessInputError } from '../errors';
import { TLS_VERSIONS } from '../vocabulary';
import { readYaml } from './deployment';
import { SCANNED_VERSIONS, type ScannedVersion } from './scan';

export interface Policy {
  /** "mozilla-intermediate@6.0", or the policy file's own name. */
  readonly name: string;
  /** Where its values come from. */
  readonly source: string;
  readonly versions?: readonly ScannedVersion[];
  readonly tls13Ciphers?: readonly string[];
  /** Suites allowed below TLS 1.3 (OpenSSL names). */
  readonly tls12Ciphers?: readonly string[];
  readonly groups?: readonly string[];
  readonly minDhBits?: number;
  readonly minEcdhBits?: number;
  readonly serverPreferredOrder?: boolean;
  readonly ocspStaple?: boolean;
  readonly hstsMinAge?: number;
  readonly certificate?: {
    readonly keyTypes?: readonly ('rsa' | 'ec')[];
    readonly curves?: readonly string[];
    readonly minRsaBits?: number;
    readonly minEcBits?: number;
    readonly signatureAlgorithms?: readonly string[];
    readonly maxLifespanDays?: number;
  };
}

/** The guideline versions built in, oldest first; the last is the default. */
export const MOZILLA_VERSIONS = ['5.7', '6.0'] as const;
const CONFIGURATIONS = ['modern', 'intermediate', 'old'] as const;

interface MozillaConfiguration {
  certificate_curves: string[];
  certificate_signatures: string[];
  certificate_types: string[];
  ciphers: { openssl: string[] };
  ciphersuites: string[];
  dh_param_size: number | null;
  ecdh_param_size: number | null;
  hsts_min_age: number;
  maximum_certificate_lifespan: number;
  ocsp_staple: boolean;
  rsa_key_size: number | null;
  server_preferred_order: boolean;
  tls_curves: string[];
  tls_versions: string[];
}

const guidelines = new Map<string, { href: string; configurations: Partial<Record<string, MozillaConfiguration>> }>();
function guideline(version: string): { href: string; configurations: Partial<Record<string, MozillaConfiguration>> } {
  let loaded = guidelines.get(version);
  if (!loaded) {
    loaded = JSON.parse(readFileSync(join(__dirname, 'mozilla', `${version}.json`), 'utf8')) as { href: string; configurations: Partial<Record<string, MozillaConfiguration>> };
    guidelines.set(version, loaded);
  }
  return loaded;
}

/** Mozilla names versions "TLSv1.2"; the documents' vocabulary says TLSv1_2. */
const fromMozillaVersion = (v: string): ScannedVersion => v.replace('.', '_') as ScannedVersion;

export function mozillaPolicy(configuration: string, version: string): Policy {
  const data = guideline(version);
  const c = data.configurations[configuration];
  if (!c) throw new HarnessInputError(`policy mozilla-${configuration}@${version}: Mozilla's guideline ${version} has no "${configuration}" configuration`);
  return {
    name: `mozilla-${configuration}@${version}`,
    source: data.href,
    versions: c.tls_versions.map(fromMozillaVersion),
    tls13Ciphers: c.ciphersuites,
    tls12Ciphers: c.ciphers.openssl,
    groups: c.tls_curves,
    ...(c.dh_param_size ? { minDhBits: c.dh_param_size } : {}),
    ...(c.ecdh_param_size ? { minEcdhBits: c.ecdh_param_size } : {}),
    serverPreferredOrder: c.server_preferred_order,
    ocspStaple: c.ocsp_staple,
    hstsMinAge: c.hsts_min_age,
    certificate: {
      keyTypes: c.certificate_types.map((t) => (t === 'ecdsa' ? 'ec' : 'rsa')),
      curves: c.certificate_curves,
      ...(c.rsa_key_size ? { minRsaBits: c.rsa_key_size } : {}),
      signatureAlgorithms: c.certificate_signatures,
      maxLifespanDays: c.maximum_certificate_lifespan,
    },
  };
}

const BUILT_IN_NAME = /^mozilla-(modern|intermediate|old)(?:@(\d+\.\d+))?$/;

/** `mozilla-intermediate`, `mozilla-old@5.7`...: a built-in name (valid or not), as opposed to a file. */
export function isBuiltInPolicyName(name: string): boolean {
  return BUILT_IN_NAME.test(name);
}

export const BUILT_IN_POLICY_NAMES: readonly string[] = CONFIGURATIONS.map((c) => `mozilla-${c}`);

function builtIn(name: string): Policy {
  const [, configuration, pinned] = BUILT_IN_NAME.exec(name)!;
  if (pinned) {
    if (!(MOZILLA_VERSIONS as readonly string[]).includes(pinned)) throw new HarnessInputError(`policy ${name}: Mozilla guideline ${pinned} is not built in (built in: ${MOZILLA_VERSIONS.join(', ')})`);
    return mozillaPolicy(configuration!, pinned);
  }
  // The newest guideline that still has this configuration (6.0 dropped "old").
  const version = [...MOZILLA_VERSIONS].reverse().find((v) => guideline(v).configurations[configuration!]);
  return mozillaPolicy(configuration!, version!);
}

const POLICY_FIELDS = ['name', 'versions', 'tls13_ciphers', 'tls12_ciphers', 'groups', 'min_dh_bits', 'min_ecdh_bits', 'server_preferred_order', 'ocsp_staple', 'hsts_min_age', 'certificate'];
const CERTIFICATE_FIELDS = ['key_types', 'curves', 'min_rsa_bits', 'min_ec_bits', 'signature_algorithms', 'max_lifespan_days'];

export function loadPolicy(nameOrFile: string): Policy {
  if (isBuiltInPolicyName(nameOrFile)) return builtIn(nameOrFile);
  const { root, lineOf, display } = readYaml(nameOrFile, 'policy');
  const fail = (field: string, node: Node | null | undefined, message: string): never => {
    throw new HarnessInputError(`${display}:${lineOf(node)}: ${field}: ${message}`);
  };
  const get = (map: YAMLMap, key: string): Node | undefined => map.items.find((i) => isScalar(i.key) && i.key.value === key)?.value as Node | undefined;
  const known = (map: YAMLMap, prefix: string, fields: readonly string[]): void => {
    for (const item of map.items) {
      const key = isScalar(item.key) ? String(item.key.value) : '?';
      if (!fields.includes(key)) fail(`${prefix}${key}`, item.key as Node, `unknown field (known: ${fields.join(', ')})`);
    }
  };
  const strings = (map: YAMLMap, field: string, key: string, allowed?: readonly string[]): string[] | undefined => {
    const node = get(map, key);
    if (node === undefined) return undefined;
    if (!isSeq(node)) fail(field, node, 'must be a list');
    return (node as { items: Node[] }).items.map((item) => {
      if (!isScalar(item) || typeof item.value !== 'string') fail(field, item, 'each entry must be a string');
      const value = String((item as { value: string }).value);
      if (allowed && !allowed.includes(value)) fail(field, item, `unknown value ${JSON.stringify(value)} (expected one of ${allowed.join(', ')})`);
      return value;
    });
  };
  const number = (map: YAMLMap, field: string, key: string): number | undefined => {
    const node = get(map, key);
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value) || node.value <= 0) fail(field, node, 'must be a positive whole number');
    return (node as { value: number }).value;
  };
  const flag = (map: YAMLMap, field: string, key: string): boolean | undefined => {
    const node = get(map, key);
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== 'boolean') fail(field, node, 'must be true or false');
    return (node as { value: boolean }).value;
  };
  known(root, '', POLICY_FIELDS);
  const nameNode = get(root, 'name');
  if (!isScalar(nameNode) || typeof nameNode.value !== 'string') fail('name', nameNode ?? root, 'must be a string');
  const certificate = get(root, 'certificate');
  if (certificate !== undefined && !isMap(certificate)) fail('certificate', certificate, 'must be a mapping');
  const cert = certificate as YAMLMap | undefined;
  if (cert) known(cert, 'certificate.', CERTIFICATE_FIELDS);
  return drop({
    name: String((nameNode as { value: string }).value),
    source: display,
    versions: strings(root, 'versions', 'versions', [...SCANNED_VERSIONS, ...TLS_VERSIONS]) as ScannedVersion[] | undefined,
    tls13Ciphers: strings(root, 'tls13_ciphers', 'tls13_ciphers'),
    tls12Ciphers: strings(root, 'tls12_ciphers', 'tls12_ciphers'),
    groups: strings(root, 'groups', 'groups'),
    minDhBits: number(root, 'min_dh_bits', 'min_dh_bits'),
    minEcdhBits: number(root, 'min_ecdh_bits', 'min_ecdh_bits'),
    serverPreferredOrder: flag(root, 'server_preferred_order', 'server_preferred_order'),
    ocspStaple: flag(root, 'ocsp_staple', 'ocsp_staple'),
    hstsMinAge: number(root, 'hsts_min_age', 'hsts_min_age'),
    ...(cert
      ? {
          certificate: drop({
            keyTypes: strings(cert, 'certificate.key_types', 'key_types', ['rsa', 'ec']) as ('rsa' | 'ec')[] | undefined,
            curves: strings(cert, 'certificate.curves', 'curves'),
            minRsaBits: number(cert, 'certificate.min_rsa_bits', 'min_rsa_bits'),
            minEcBits: number(cert, 'certificate.min_ec_bits', 'min_ec_bits'),
            signatureAlgorithms: strings(cert, 'certificate.signature_algorithms', 'signature_algorithms'),
            maxLifespanDays: number(cert, 'certificate.max_lifespan_days', 'max_lifespan_days'),
          }),
        }
      : {}),
  }) as Policy;
}

/** Leave out the fields a policy does not set, so that "absent" means absent. */
function drop<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
