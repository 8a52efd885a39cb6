/**
 * The deployment file: the TLS configuration about to ship, in the documents'
 * vocabulary, as YAML (or JSON, which is YAML too). Every problem is one
 * HarnessInputError naming the file, the line and the field. Paths resolve
 * relative to the file.
 *
 *   server:
 *     implementation: node        # node | python-eventlet | python-context | openssl | nginx | apache
 *     certfile: tls/server.pem
 *     keyfile: tls/server.key     # absent: the key is in certfile
 *     ca_certs: tls/client-ca.pem # mutual authentication
 *     cert_reqs: CERT_REQUIRED    # CERT_NONE | CERT_OPTIONAL | CERT_REQUIRED
 *     ssl_version: PROTOCOL_TLS   # optional
 *     minimum_version: TLSv1_2    # optional: TLSv1 | TLSv1_1 | TLSv1_2 | TLSv1_3
 *     maximum_version: TLSv1_3    # optional
 *     ciphers: ECDHE+AESGCM       # optional, OpenSSL cipher list
 *     groups: X25519:prime256v1   # optional, key exchange groups (not the Python servers)
 *     server_preferred_order: false  # optional, whether the server imposes its suite order (not the Python servers)
 *     hostnames: [api.example.test]
 *
 *   or, to gate the server's own configuration file as it ships (nginx, apache or haproxy):
 *   server:
 *     implementation: nginx
 *     config: nginx/nginx.conf    # run unchanged, but for the sandbox (ports, pid, logs, user)
 *     paths: { /etc/nginx/tls: tls }   # optional: where the file's absolute paths live here
 *     hostnames: [www.example.test]    # optional: names for the file's wildcard server names
 *   client:
 *     implementation: axios       # optional: axios | requests | python-context | openssl | curl
 *     verify: tls/server-ca.pem   # the CA that issued the server certificate; true: the system's roots;
 *                                 # false: no verification (a finding, as document 000's own bad setting)
 *     cert: [tls/client.pem, tls/client.key]   # mutual authentication
 *   intent: mutual                # one-way | mutual (with server.config: optional, read from the file)
 *   policy: mozilla-intermediate  # mozilla-modern | mozilla-intermediate | mozilla-old, optionally @5.7 or @6.0 | a policy file
 *   expiry_warning_days: 30       # optional
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node, type YAMLMap } from 'yaml';
import { HarnessInputError, shortPath } from '../errors';
import { CLIENTS, SERVERS } from '../peers/registry';
import { BUILT_IN_POLICY_NAMES, isBuiltInPolicyName } from './policy';
import type { PathMap } from '../serverconfig/sandbox';
import { CONFIG_IMPLEMENTATIONS } from '../serverconfig/names';
import { CERT_REQS, SSL_VERSIONS, TLS_VERSIONS, type CertReqs, type TlsVersion } from '../vocabulary';

export interface Deployment {
  readonly file: string;
  readonly server: {
    readonly implementation: string;
    /** Empty for a live target, whose certificates are read from the wire. */
    readonly certfile: string;
    readonly keyfile?: string;
    readonly ca_certs?: string;
    readonly cert_reqs?: CertReqs;
    readonly ssl_version?: string;
    readonly minimum_version?: TlsVersion;
    readonly maximum_version?: TlsVersion;
    readonly ciphers?: string;
    readonly groups?: string;
    readonly server_preferred_order?: boolean;
    readonly hostnames: readonly string[];
    /** hostnames: was written (with config: names for the file's patterns). */
    readonly hostnamesGiven: boolean;
    /** The server's own configuration file, run as it ships (nginx, apache, haproxy). */
    readonly config?: { readonly file: string; readonly paths: PathMap };
  };
  readonly client: {
    readonly implementation: string;
    /** A CA file; true for the system's roots; false for none (document 000's `verify=False`). */
    readonly verify: string | boolean;
    readonly cert?: readonly [string, string];
  };
  readonly intent: 'one-way' | 'mutual';
  /** intent: was written; otherwise (only with server.config) each endpoint's is read from the file. */
  readonly intentGiven: boolean;
  /** A built-in policy name, or the absolute path of a policy file. */
  readonly policy: string;
  readonly expiryWarningDays: number;
  /** Where each field was written: "server.certfile" → line. */
  readonly lines: ReadonlyMap<string, number>;
}

const MAX_BYTES = 1024 * 1024;
const SERVER_FIELDS = ['implementation', 'config', 'paths', 'certfile', 'keyfile', 'ca_certs', 'cert_reqs', 'ssl_version', 'minimum_version', 'maximum_version', 'ciphers', 'groups', 'server_preferred_order', 'hostnames'];
/** What the server's own configuration file says instead, with server.config. */
const CONFIG_SAYS = ['certfile', 'keyfile', 'ca_certs', 'cert_reqs', 'ssl_version', 'minimum_version', 'maximum_version', 'ciphers', 'groups', 'server_preferred_order'];
const CLIENT_FIELDS = ['implementation', 'verify', 'cert'];
const TOP_FIELDS = ['server', 'client', 'intent', 'policy', 'expiry_warning_days'];

/** Read a YAML (or JSON) file into a document whose nodes know their lines; every failure is one line. */
export function readYaml(path: string, what: string): { root: YAMLMap; lineOf: (node: Node | null | undefined) => number; display: string } {
  const display = shortPath(path);
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new HarnessInputError(`${display}: is a directory, not a ${what} file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof HarnessInputError) throw error;
    throw new HarnessInputError(`${display}: cannot read the ${what} file (${(error as NodeJS.ErrnoException).code})`);
  }
  if (size > MAX_BYTES) throw new HarnessInputError(`${display}: ${size} bytes is too large for a ${what} file (at most ${MAX_BYTES})`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new HarnessInputError(`${display}: cannot read the ${what} file (${(error as NodeJS.ErrnoException).code})`);
  }
  if (text.includes('\u0000')) throw new HarnessInputError(`${display}: binary data, not a ${what} file (YAML or JSON)`);
  const counter = new LineCounter();
  const document = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  const lineAt = (offset: number): number => counter.linePos(offset).line;
  if (document.errors.length) {
    const error = document.errors[0]!;
    throw new HarnessInputError(`${display}:${lineAt(error.pos[0])}: not valid YAML: ${error.message.split('\n')[0]}`);
  }
  if (!isMap(document.contents)) throw new HarnessInputError(`${display}:1: a ${what} file is a mapping of fields (see README)`);
  return { root: document.contents, lineOf: (node) => (node?.range ? lineAt(node.range[0]) : 1), display };
}

/** `live`: the server is already running (--target): its files are not needed, only its names. */
export function loadDeployment(path: string, options: { live?: boolean } = {}): Deployment {
  const file = resolve(path);
  const { root, lineOf, display } = readYaml(file, 'deployment');
  const lines = new Map<string, number>();
  const fail = (field: string, node: Node | null | undefined, message: string): never => {
    throw new HarnessInputError(`${display}:${lineOf(node)}: ${field}: ${message}`);
  };
  const section = (parent: YAMLMap, key: string, allowed: string[], required: boolean): YAMLMap | null => {
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === key);
    if (!pair) {
      if (required) fail(key, parent, 'is missing');
      return null;
    }
    if (!isMap(pair.value)) fail(key, pair.value as Node, 'must be a mapping of fields');
    // A finding about a field the file does not write points at its section, where the field would go.
    lines.set(key, lineOf(pair.key as Node));
    const map = pair.value as YAMLMap;
    for (const item of map.items) {
      const name = isScalar(item.key) ? String(item.key.value) : '?';
      if (!allowed.includes(name)) fail(`${key}.${name}`, item.key as Node, `unknown field (known: ${allowed.join(', ')})`);
    }
    return map;
  };
  for (const item of root.items) {
    const name = isScalar(item.key) ? String(item.key.value) : '?';
    if (!TOP_FIELDS.includes(name)) fail(name, item.key as Node, `unknown field (known: ${TOP_FIELDS.join(', ')})`);
  }
  const nodeOf = (map: YAMLMap, key: string): Node | undefined => map.items.find((item) => isScalar(item.key) && item.key.value === key)?.value as Node | undefined;
  const text = (map: YAMLMap, prefix: string, key: string, required: boolean): string | undefined => {
    const node = nodeOf(map, key);
    if (node === undefined || (isScalar(node) && node.value === null)) {
      if (required) fail(`${prefix}${key}`, map, 'is missing');
      return undefined;
    }
    if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') fail(`${prefix}${key}`, node, 'must be a non-empty string');
    lines.set(`${prefix}${key}`, lineOf(node));
    return (node as { value: string }).value;
  };
  const oneOf = <T extends string>(map: YAMLMap, prefix: string, key: string, allowed: readonly T[], required: boolean): T | undefined => {
    const value = text(map, prefix, key, required);
    if (value === undefined) return undefined;
    const bare = value.replace(/^ssl\.(TLSVersion\.)?/, '');
    if (!(allowed as readonly string[]).includes(bare)) fail(`${prefix}${key}`, nodeOf(map, key), `unknown value ${JSON.stringify(value)} (expected one of ${allowed.join(', ')})`);
    return bare as T;
  };
  const filePath = (map: YAMLMap, prefix: string, key: string, required: boolean): string | undefined => {
    const value = text(map, prefix, key, required);
    if (value === undefined) return undefined;
    const absolute = isAbsolute(value) ? value : resolve(dirname(file), value);
    try {
      if (statSync(absolute).isDirectory()) fail(`${prefix}${key}`, nodeOf(map, key), `${value} is a directory, not a file`);
    } catch (error) {
      if (error instanceof HarnessInputError) throw error;
      fail(`${prefix}${key}`, nodeOf(map, key), `${value}: no such file (paths are relative to the deployment file)`);
    }
    return absolute;
  };

  const server = section(root, 'server', SERVER_FIELDS, true)!;
  const client = section(root, 'client', CLIENT_FIELDS, true)!;
  const configNode = nodeOf(server, 'config');
  const configured = configNode !== undefined;
  if (configured) {
    const other = server.items.find((item) => isScalar(item.key) && CONFIG_SAYS.includes(String(item.key.value)));
    if (other) {
      const name = String((other.key as { value: unknown }).value);
      fail(`server.${name}`, other.key as Node, `and server.config (line ${lineOf(configNode)}): one or the other; with config, the server's own file says ${name}`);
    }
  }
  const serverImplementation = configured
    ? (oneOf(server, 'server.', 'implementation', CONFIG_IMPLEMENTATIONS, false) ?? fail('server.implementation', server, `is missing: with config, say which program runs it (${CONFIG_IMPLEMENTATIONS.join(', ')})`))
    : (oneOf(server, 'server.', 'implementation', Object.keys(SERVERS), false) ?? 'node');
  const paths = pathMap(nodeOf(server, 'paths'));
  if (!configured && paths.length) fail('server.paths', nodeOf(server, 'paths'), 'only means something with server.config');
  const config = configured ? { file: filePath(server, 'server.', 'config', true)!, paths } : undefined;
  const clientImplementation = oneOf(client, 'client.', 'implementation', Object.keys(CLIENTS), false) ?? 'axios';

  const hostnamesNode = nodeOf(server, 'hostnames');
  let hostnames: string[] = ['localhost'];
  if (hostnamesNode !== undefined) {
    if (!isSeq(hostnamesNode) || hostnamesNode.items.length === 0) fail('server.hostnames', hostnamesNode, 'must be a non-empty list of host names');
    hostnames = (hostnamesNode as { items: Node[] }).items.map((item) => {
      if (!isScalar(item) || typeof item.value !== 'string' || !/^[A-Za-z0-9*._:-]+$/.test(item.value)) fail('server.hostnames', item, 'each entry must be a host name or an IP address');
      return (item as { value: string }).value;
    });
    lines.set('server.hostnames', lineOf(hostnamesNode));
  }
  const certNode = nodeOf(client, 'cert');
  let cert: [string, string] | undefined;
  if (certNode !== undefined) {
    if (!isSeq(certNode) || certNode.items.length !== 2) fail('client.cert', certNode, 'must be [certificate file, key file], as requests takes it');
    const [c, k] = (certNode as { items: Node[] }).items;
    const resolveItem = (node: Node): string => {
      if (!isScalar(node) || typeof node.value !== 'string') fail('client.cert', node, 'each entry must be a file path');
      const value = (node as { value: string }).value;
      const absolute = isAbsolute(value) ? value : resolve(dirname(file), value);
      try {
        statSync(absolute);
      } catch {
        fail('client.cert', node, `${value}: no such file (paths are relative to the deployment file)`);
      }
      return absolute;
    };
    cert = [resolveItem(c!), resolveItem(k!)];
    lines.set('client.cert', lineOf(certNode));
  }
  const intentGiven = nodeOf(root, 'intent') !== undefined;
  const intent = oneOf(root, '', 'intent', ['one-way', 'mutual'] as const, !configured) ?? 'one-way';
  if (intentGiven && intent === 'mutual' && !cert) fail('client.cert', client, 'a mutual deployment needs the client certificate and key its own clients use');
  const policyValue = text(root, '', 'policy', false) ?? 'mozilla-intermediate';
  let policy = policyValue;
  if (!isBuiltInPolicyName(policyValue)) {
    policy = isAbsolute(policyValue) ? policyValue : resolve(dirname(file), policyValue);
    try {
      statSync(policy);
    } catch {
      fail('policy', nodeOf(root, 'policy'), `${policyValue}: neither a built-in policy (${BUILT_IN_POLICY_NAMES.join(', ')}, optionally @<guideline version>) nor a policy file`);
    }
  }
  const daysNode = nodeOf(root, 'expiry_warning_days');
  let expiryWarningDays = 30;
  if (daysNode !== undefined) {
    if (!isScalar(daysNode) || typeof daysNode.value !== 'number' || !Number.isInteger(daysNode.value) || daysNode.value < 0 || daysNode.value > 3650) {
      fail('expiry_warning_days', daysNode, 'must be a whole number of days between 0 and 3650');
    }
    expiryWarningDays = (daysNode as { value: number }).value;
    lines.set('expiry_warning_days', lineOf(daysNode));
  }
  /** requests' verify: a CA file, or a boolean (document 000 writes verify=False). */
  function verifySetting(): string | boolean {
    const node = nodeOf(client, 'verify');
    if (isScalar(node) && typeof node.value === 'boolean') {
      lines.set('client.verify', lineOf(node));
      return node.value;
    }
    return filePath(client, 'client.', 'verify', true)!;
  }
  function flag(map: YAMLMap, prefix: string, key: string): boolean | undefined {
    const node = nodeOf(map, key);
    if (node === undefined) return undefined;
    if (!isScalar(node) || typeof node.value !== 'boolean') fail(`${prefix}${key}`, node, 'must be true or false');
    lines.set(`${prefix}${key}`, lineOf(node));
    return (node as { value: boolean }).value;
  }
  const sslVersion = text(server, 'server.', 'ssl_version', false);
  if (sslVersion !== undefined && !(SSL_VERSIONS as readonly string[]).includes(sslVersion.replace(/^ssl\./, ''))) {
    fail('server.ssl_version', nodeOf(server, 'ssl_version'), `unknown protocol constant ${JSON.stringify(sslVersion)} (expected one of ${SSL_VERSIONS.join(', ')})`);
  }
  /** paths: { /etc/nginx/tls: tls }: absolute prefixes in the config → directories beside the deployment file. */
  function pathMap(node: Node | undefined): PathMap {
    if (node === undefined) return [];
    if (!isMap(node)) return fail('server.paths', node, 'must be a mapping of absolute paths in the config file to directories here, e.g. { /etc/nginx/tls: tls }');
    lines.set('server.paths', lineOf(node));
    return (node as YAMLMap).items.map((item) => {
      const from = isScalar(item.key) ? String(item.key.value) : '';
      if (!isAbsolute(from)) fail('server.paths', item.key as Node, `${JSON.stringify(from)}: each key is an absolute path as the config file writes it`);
      if (!isScalar(item.value) || typeof item.value.value !== 'string' || !item.value.value) fail('server.paths', item.value as Node, `${from}: each value is a directory (relative to the deployment file)`);
      const value = (item.value as { value: string }).value;
      const to = isAbsolute(value) ? value : resolve(dirname(file), value);
      let directory = false;
      try {
        directory = statSync(to).isDirectory();
      } catch {
        // reported below
      }
      if (!directory) fail('server.paths', item.value as Node, `${value}: no such directory (paths are relative to the deployment file)`);
      return { from: from.replace(/\/+$/, '') || '/', to };
    });
  }
  return {
    file,
    server: {
      implementation: serverImplementation,
      ...(config ? { config } : {}),
      hostnamesGiven: hostnamesNode !== undefined,
      certfile: configured ? '' : (filePath(server, 'server.', 'certfile', !options.live) ?? ''),
      ...optional('keyfile', filePath(server, 'server.', 'keyfile', false)),
      ...optional('ca_certs', filePath(server, 'server.', 'ca_certs', false)),
      ...optional('cert_reqs', oneOf(server, 'server.', 'cert_reqs', CERT_REQS, false)),
      ...optional('ssl_version', sslVersion),
      ...optional('minimum_version', oneOf(server, 'server.', 'minimum_version', TLS_VERSIONS, false)),
      ...optional('maximum_version', oneOf(server, 'server.', 'maximum_version', TLS_VERSIONS, false)),
      ...optional('ciphers', text(server, 'server.', 'ciphers', false)),
      ...optional('groups', text(server, 'server.', 'groups', false)),
      ...optional('server_preferred_order', flag(server, 'server.', 'server_preferred_order')),
      hostnames,
    },
    client: { implementation: clientImplementation, verify: verifySetting(), ...(cert ? { cert } : {}) },
    intent,
    intentGiven,
    policy,
    expiryWarningDays,
    lines,
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The command line's words for a bare server configuration file (`--deployment nginx/nginx.conf`). */
export interface BareConfigOptions {
  /** nginx | apache | haproxy; read from the file when not given. */
  readonly implementation?: string;
  /** The CA file the clients trust, or "system" for the system's roots. */
  readonly verify?: string;
  readonly intent?: string;
  readonly policy?: string;
  /** "client.pem,client.key" */
  readonly cert?: string;
  /** "/etc/nginx/tls=tls,/etc/ssl/private=keys" */
  readonly paths?: string;
  /** "www.example.test,api.example.test": names for the file's wildcard server names. */
  readonly hostnames?: string;
}

/** A file the gate reads as a server configuration rather than a deployment file: anything not .yaml, .yml or .json. */
export function isServerConfigFile(path: string): boolean {
  return !/\.(ya?ml|json)$/i.test(path);
}

/** Which program a configuration file is written for, from its words. */
export function implementationOfConfig(path: string, text: string): 'nginx' | 'apache' | 'haproxy' {
  const body = text.replace(/^\s*#.*$/gm, '');
  const haproxy = /^\s*(frontend|backend|listen|defaults|global)\b[^{;]*$/m.test(body) && /^\s*bind\s/m.test(body);
  const apache = /^\s*<\s*(VirtualHost|IfModule|Directory)\b/im.test(body) || /^\s*(SSLEngine|Listen|LoadModule|ServerName)\s/m.test(body);
  const nginx = /\b(server|http|events)\s*\{/.test(body) || /^\s*listen\s[^;\n]*;/m.test(body);
  const found = [haproxy && 'haproxy', apache && 'apache', nginx && 'nginx'].filter(Boolean) as ('nginx' | 'apache' | 'haproxy')[];
  if (found.length !== 1) {
    throw new HarnessInputError(`${shortPath(path)}: cannot tell which program this configuration is for (${found.length ? `it reads as ${found.join(' and ')}` : 'no nginx, Apache or HAProxy words'}); say it with --servers nginx|apache|haproxy`);
  }
  return found[0]!;
}

export function loadBareConfig(path: string, options: BareConfigOptions): Deployment {
  const file = resolve(path);
  const display = shortPath(file);
  let text: string;
  try {
    if (statSync(file).isDirectory()) throw new HarnessInputError(`${display}: is a directory, not a deployment or configuration file`);
    text = readFileSync(file, 'latin1');
  } catch (error) {
    if (error instanceof HarnessInputError) throw error;
    throw new HarnessInputError(`${display}: cannot read the configuration file (${(error as NodeJS.ErrnoException).code})`);
  }
  const fromCwd = (value: string): string => resolve(value);
  const exists = (flag: string, value: string, directory = false): string => {
    const absolute = fromCwd(value);
    let ok = false;
    try {
      ok = statSync(absolute).isDirectory() === directory;
    } catch {
      // reported below
    }
    if (!ok) throw new HarnessInputError(`${flag} ${value}: no such ${directory ? 'directory' : 'file'}`);
    return absolute;
  };
  const implementation = options.implementation ?? implementationOfConfig(file, text);
  if (!(CONFIG_IMPLEMENTATIONS as readonly string[]).includes(implementation)) {
    throw new HarnessInputError(`--servers ${implementation}: a configuration file is run by ${CONFIG_IMPLEMENTATIONS.join(', ')}`);
  }
  if (options.verify === undefined) {
    throw new HarnessInputError(`${display}: a bare configuration file needs --verify <CA file> (the CA your clients trust for this server) or --verify system`);
  }
  const verify: string | boolean = options.verify === 'system' ? true : exists('--verify', options.verify);
  if (options.intent !== undefined && options.intent !== 'one-way' && options.intent !== 'mutual') {
    throw new HarnessInputError(`--intent ${options.intent}: expected one-way or mutual`);
  }
  let cert: [string, string] | undefined;
  if (options.cert !== undefined) {
    const parts = options.cert.split(',');
    if (parts.length !== 2) throw new HarnessInputError(`--cert ${options.cert}: expected <certificate file>,<key file>`);
    cert = [exists('--cert', parts[0]!), exists('--cert', parts[1]!)];
  }
  if (options.intent === 'mutual' && !cert) throw new HarnessInputError('--intent mutual needs --cert <certificate file>,<key file>: the client certificate your own clients present');
  const paths: PathMap = (options.paths ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => {
      const [from, to] = pair.split('=');
      if (!from || !to || !isAbsolute(from)) throw new HarnessInputError(`--paths ${pair}: expected <absolute path in the file>=<directory here>`);
      return { from: from.replace(/\/+$/, '') || '/', to: exists('--paths', to, true) };
    });
  const hostnames = (options.hostnames ?? '').split(',').filter(Boolean);
  for (const name of hostnames) if (!/^[A-Za-z0-9*._:-]+$/.test(name)) throw new HarnessInputError(`--hostnames ${name}: not a host name`);
  const policy = options.policy ?? 'mozilla-intermediate';
  if (!isBuiltInPolicyName(policy)) exists('--policy', policy);
  return {
    file,
    server: { implementation, certfile: '', hostnames: hostnames.length ? hostnames : ['localhost'], hostnamesGiven: hostnames.length > 0, config: { file, paths } },
    client: { implementation: 'axios', verify, ...(cert ? { cert } : {}) },
    intent: options.intent === 'mutual' ? 'mutual' : 'one-way',
    intentGiven: options.intent !== undefined,
    policy: isBuiltInPolicyName(policy) ? policy : fromCwd(policy),
    expiryWarningDays: 30,
    lines: new Map(),
  };
}
