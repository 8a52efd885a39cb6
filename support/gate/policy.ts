/**
 * Policies the gate checks a deployment against: Mozilla's server-side TLS
 * guidelines (version 5.7), "modern" and "intermediate", or a policy file of
 * the same shape (YAML or JSON):
 *
 *   name: our-policy
 *   versions: [TLSv1_2, TLSv1_3]
 *   tls12_ciphers: [ECDHE-RSA-AES128-GCM-SHA256, ...]   # TLS 1.2 suites allowed (OpenSSL names)
 *   certificate:
 *     key_types: [rsa, ec]
 *     min_rsa_bits: 2048
 *     min_ec_bits: 256
 *     signature_algorithms: [sha256WithRSAEncryption, ecdsa-with-SHA256, ...]
 *     max_lifespan_days: 366
 */
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import { HarnessInputError } from '../errors';
import { TLS_VERSIONS, type TlsVersion } from '../vocabulary';
import { readYaml } from './deployment';

export interface Policy {
  readonly name: string;
  readonly versions: readonly TlsVersion[];
  readonly tls12Ciphers: readonly string[];
  readonly certificate: {
    readonly keyTypes: readonly ('rsa' | 'ec')[];
    readonly minRsaBits: number;
    readonly minEcBits: number;
    readonly signatureAlgorithms: readonly string[];
    readonly maxLifespanDays: number;
  };
}

const STRONG_SIGNATURES = ['sha256WithRSAEncryption', 'sha384WithRSAEncryption', 'sha512WithRSAEncryption', 'RSASSA-PSS', 'ecdsa-with-SHA256', 'ecdsa-with-SHA384', 'ecdsa-with-SHA512'];

/** https://wiki.mozilla.org/Security/Server_Side_TLS, version 5.7. */
export const BUILT_IN: Readonly<Record<string, Policy>> = {
  'mozilla-modern': {
    name: 'mozilla-modern',
    versions: ['TLSv1_3'],
    tls12Ciphers: [],
    // Modern: an ECDSA (P-256) certificate, 90 days.
    certificate: { keyTypes: ['ec'], minRsaBits: 2048, minEcBits: 256, signatureAlgorithms: STRONG_SIGNATURES, maxLifespanDays: 90 },
  },
  'mozilla-intermediate': {
    name: 'mozilla-intermediate',
    versions: ['TLSv1_2', 'TLSv1_3'],
    tls12Ciphers: [
      'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
      'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305', 'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384', 'DHE-RSA-CHACHA20-POLY1305',
    ],
    // Intermediate: ECDSA (P-256) recommended, RSA 2048 allowed; at most 366 days (90 recommended).
    certificate: { keyTypes: ['rsa', 'ec'], minRsaBits: 2048, minEcBits: 256, signatureAlgorithms: STRONG_SIGNATURES, maxLifespanDays: 366 },
  },
};

export function loadPolicy(nameOrFile: string): Policy {
  const builtIn = BUILT_IN[nameOrFile];
  if (builtIn) return builtIn;
  const { root, lineOf, display } = readYaml(nameOrFile, 'policy');
  const fail = (field: string, node: Node | null | undefined, message: string): never => {
    throw new HarnessInputError(`${display}:${lineOf(node)}: ${field}: ${message}`);
  };
  const get = (map: YAMLMap, key: string): Node | undefined => map.items.find((i) => isScalar(i.key) && i.key.value === key)?.value as Node | undefined;
  const strings = (map: YAMLMap, field: string, key: string, allowed?: readonly string[]): string[] => {
    const node = get(map, key);
    if (node === undefined) fail(field, map, 'is missing');
    if (!isSeq(node)) fail(field, node, 'must be a list');
    return (node as { items: Node[] }).items.map((item) => {
      if (!isScalar(item) || typeof item.value !== 'string') fail(field, item, 'each entry must be a string');
      const value = String((item as { value: string }).value);
      if (allowed && !allowed.includes(value)) fail(field, item, `unknown value ${JSON.stringify(value)} (expected one of ${allowed.join(', ')})`);
      return value;
    });
  };
  const number = (map: YAMLMap, field: string, key: string): number => {
    const node = get(map, key);
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value) || node.value <= 0) fail(field, node ?? map, 'must be a positive whole number');
    return (node as { value: number }).value;
  };
  const nameNode = get(root, 'name');
  if (!isScalar(nameNode) || typeof nameNode.value !== 'string') fail('name', nameNode ?? root, 'must be a string');
  const certificate = get(root, 'certificate');
  if (!isMap(certificate)) fail('certificate', certificate ?? root, 'must be a mapping');
  const cert = certificate as YAMLMap;
  return {
    name: String((nameNode as { value: string }).value),
    versions: strings(root, 'versions', 'versions', TLS_VERSIONS) as TlsVersion[],
    tls12Ciphers: strings(root, 'tls12_ciphers', 'tls12_ciphers'),
    certificate: {
      keyTypes: strings(cert, 'certificate.key_types', 'key_types', ['rsa', 'ec']) as ('rsa' | 'ec')[],
      minRsaBits: number(cert, 'certificate.min_rsa_bits', 'min_rsa_bits'),
      minEcBits: number(cert, 'certificate.min_ec_bits', 'min_ec_bits'),
      signatureAlgorithms: strings(cert, 'certificate.signature_algorithms', 'signature_algorithms'),
      maxLifespanDays: number(cert, 'certificate.max_lifespan_days', 'max_lifespan_days'),
    },
  };
}
