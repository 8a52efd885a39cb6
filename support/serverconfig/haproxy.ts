/**
 * HAProxy's own configuration file, run unchanged but for the sandbox: read
 * line by line as HAProxy reads it (sections, quotes, escapes, `.if`
 * blocks; a directory of *.cfg files in order), every `bind … ssl` of a
 * frontend or listen section an endpoint, and line-preserving edits for bind
 * addresses, pid, logs, user, stats socket, servers and TLS file paths.
 *
 * HAProxy has no server_name: an endpoint's names are the DNS names of the
 * first certificate its `crt` names (or its crt-list's first SNI filters).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HarnessInputError, shortPath } from '../errors';
import { at, broken, readConfigText, resolveConfigPath, resolveTlsFile, inSandbox, Sandbox, type BackendStub, type PathMap } from './sandbox';
import { endpointNames, patternMatches } from './names';
import type { Directive, Endpoint, Knob, Located, PreparedConfig } from './types';

export interface HaproxyOptions {
  readonly paths: PathMap;
  /** Concrete names for the certificates' wildcard names. */
  readonly hostnames: readonly string[];
  readonly stub: BackendStub;
}

/* ------------------------------------------------------------------ words */

/** One argument as HAProxy reads it: quotes and escapes resolved; `$VAR` in double quotes kept (value) and expanded here (expanded). */
interface Word {
  readonly value: string;
  /** As written, quotes and all. */
  readonly raw: string;
  readonly expanded: string;
  readonly start: number;
  readonly end: number;
}

interface Line {
  readonly line: number;
  readonly words: readonly Word[];
}

const BLANK = new Set([' ', '\t', '\r', '\f', '\v']);

/** HAProxy's parse_line: blanks separate words, `#` starts a comment, '…' is literal, "…" and bare words take backslash escapes, `$VAR` expands in "…" only. */
function readLines(file: string, text: string): Line[] {
  const out: Line[] = [];
  let pos = 0;
  for (let number = 1; ; number++) {
    const newline = text.indexOf('\n', pos);
    const stop = newline < 0 ? text.length : newline;
    const words = lineWords(file, number, text, pos, stop);
    if (words.length) out.push({ line: number, words });
    if (newline < 0) return out;
    pos = newline + 1;
  }
}

function lineWords(file: string, line: number, text: string, from: number, to: number): Word[] {
  const words: Word[] = [];
  let i = from;
  while (i < to) {
    const c = text[i]!;
    if (BLANK.has(c)) {
      i++;
      continue;
    }
    if (c === '#') break;
    const start = i;
    let value = '';
    let expanded = '';
    let squote = false;
    let dquote = false;
    let quoteAt = -1;
    while (i < to) {
      const ch = text[i]!;
      if (!squote && !dquote && (BLANK.has(ch) || ch === '#')) break;
      if (ch === '"' && !squote) {
        dquote = !dquote;
        quoteAt = i;
        i++;
        continue;
      }
      if (ch === "'" && !dquote) {
        squote = !squote;
        quoteAt = i;
        i++;
        continue;
      }
      if (ch === '\\' && !squote) {
        const next = text[i + 1];
        let send = '\\';
        let used = 1;
        if (next === ' ' || next === '\\' || next === '#' || next === "'" || next === '"') [send, used] = [next, 2];
        else if (next === 't') [send, used] = ['\t', 2];
        else if (next === 'n') [send, used] = ['\n', 2];
        else if (next === 'r') [send, used] = ['\r', 2];
        else if (next === '$' && dquote) [send, used] = ['$', 2];
        else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) [send, used] = [String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16)), 4];
        value += send;
        expanded += send;
        i += used;
        continue;
      }
      if (ch === '$' && dquote) {
        const m = /\$\{([A-Za-z_.][A-Za-z0-9_]*)(?:\[\*\])?(?:-([^}]*))?\}|\$([A-Za-z_.][A-Za-z0-9_]*)/y;
        m.lastIndex = i;
        const found = m.exec(text);
        if (found && found.index + found[0].length <= to) {
          value += found[0];
          const name = found[1] ?? found[3]!;
          expanded += process.env[name] ?? found[2] ?? '';
          i += found[0].length;
          continue;
        }
      }
      value += ch;
      expanded += ch;
      i++;
    }
    if (squote || dquote) broken({ file, line }, `unmatched ${dquote ? 'double' : 'single'} quote at column ${quoteAt - from + 1}`);
    words.push({ value, raw: text.slice(start, i), expanded, start, end: i });
  }
  return words;
}

/** A value written back into the file: bare when it can be, else quoted so HAProxy reads it back unchanged. */
function quote(value: string): string {
  if (/^[A-Za-z0-9_.,:@/+=%-]+$/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

/* --------------------------------------------------------------- sections */

/** Words that open a section (HAProxy 2.6, and a few later ones so that HAProxy itself names them). */
const SECTIONS = new Set(['global', 'defaults', 'frontend', 'backend', 'listen', 'resolvers', 'peers', 'userlist', 'mailers', 'program', 'http-errors', 'cache', 'ring', 'log-forward', 'fcgi-app', 'namespace_list', 'crt-store', 'traces']);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Condition {
  readonly line: number;
  readonly parentActive: boolean;
  active: boolean;
  taken: boolean;
  sawElse: boolean;
}

function parseFile(file: string, text: string, sandbox: Sandbox, words: Map<Directive, readonly Word[]>): Directive[] {
  sandbox.add(file, text);
  const out: Directive[] = [];
  let section: Mutable<Directive> | null = null;
  const conditions: Condition[] = [];
  const active = (): boolean => conditions.every((c) => c.active);
  for (const { line, words: lineWords } of readLines(file, text)) {
    const [first, ...rest] = lineWords;
    const name = first!.value;
    const here = { file, line };
    if (name.startsWith('.')) {
      const top = conditions[conditions.length - 1];
      switch (name) {
        case '.if': {
          const parentActive = active();
          const value = parentActive && evaluate(rest, here);
          conditions.push({ line, parentActive, active: value, taken: value, sawElse: false });
          continue;
        }
        case '.elif':
          if (!top) broken(here, '.elif without .if');
          if (top.sawElse) broken(here, '.elif after .else');
          top.active = !top.taken && top.parentActive && evaluate(rest, here);
          top.taken ||= top.active;
          continue;
        case '.else':
          if (!top) broken(here, '.else without .if');
          if (top.sawElse) broken(here, 'a second .else');
          top.active = !top.taken && top.parentActive;
          top.taken = true;
          top.sawElse = true;
          continue;
        case '.endif':
          if (!top) broken(here, '.endif without .if');
          conditions.pop();
          continue;
        case '.diag':
        case '.notice':
        case '.warning':
        case '.alert':
          // HAProxy says these itself (and stops on an active .alert).
          continue;
      }
    }
    if (!active()) continue;
    const last = lineWords[lineWords.length - 1]!;
    const d: Mutable<Directive> = { name, args: rest.map((w) => w.value), file, line, start: first!.start, end: last.end, argSpans: rest.map((w) => [w.start, w.end] as const) };
    words.set(d, lineWords);
    if (SECTIONS.has(name)) {
      section = { ...d, children: [] };
      words.set(section, lineWords);
      out.push(section);
    } else if (section) {
      section.children!.push(d);
      section.end = d.end;
    } else {
      out.push(d);
    }
  }
  if (conditions.length) broken({ file, line: conditions[conditions.length - 1]!.line }, '.if without .endif at the end of the file');
  return out;
}

let haproxyFacts: { version: string; features: Set<string> } | null = null;

function facts(): { version: string; features: Set<string> } {
  if (!haproxyFacts) {
    let said = '';
    try {
      said = execFileSync('haproxy', ['-vv'], { encoding: 'latin1', timeout: 5000 });
    } catch {
      // an unknown version satisfies no version test
    }
    const version = /HA-?Proxy version (\d+(?:\.\d+)*)/i.exec(said)?.[1] ?? '0';
    const features = new Set((/Feature list : (.*)/.exec(said)?.[1] ?? '').split(/\s+/).filter((f) => f.startsWith('+')).map((f) => f.slice(1)));
    haproxyFacts = { version, features };
  }
  return haproxyFacts;
}

function compareVersions(a: string, b: string): number {
  const x = a.split(/[.-]/).map((n) => parseInt(n, 10) || 0);
  const y = b.split(/[.-]/).map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** A `.if` condition: `&&`, `||`, `!`, parentheses, numbers and HAProxy 2.6's predicates, with this environment's variables. */
function evaluate(words: readonly Word[], here: { file: string; line: number }): boolean {
  const text = words.map((w) => w.expanded).join(' ');
  let i = 0;
  const fail = (): never => broken(here, `.if ${words.map((w) => w.value).join(' ')}: a condition the gate cannot evaluate`);
  const blank = (): void => {
    while (text[i] === ' ') i++;
  };
  const or = (): boolean => {
    let value = and();
    blank();
    while (text.startsWith('||', i)) {
      i += 2;
      value = and() || value;
      blank();
    }
    return value;
  };
  const and = (): boolean => {
    let value = term();
    blank();
    while (text.startsWith('&&', i)) {
      i += 2;
      value = term() && value;
      blank();
    }
    return value;
  };
  const term = (): boolean => {
    blank();
    if (text[i] === '!') {
      i++;
      return !term();
    }
    if (text[i] === '(') {
      i++;
      const value = or();
      blank();
      if (text[i] !== ')') fail();
      i++;
      return value;
    }
    const m = /([a-z_]+)\(([^)]*)\)|(-?\d+)/y;
    m.lastIndex = i;
    const found = m.exec(text) ?? fail();
    i += found[0].length;
    if (found[3] !== undefined) return parseInt(found[3], 10) !== 0;
    const args = found[2]!.split(',');
    switch (found[1]) {
      case 'defined':
        return process.env[args[0]!] !== undefined;
      case 'feature':
        return facts().features.has(args[0]!);
      case 'streq':
        return args[0] === args[1];
      case 'strneq':
        return args[0] !== args[1];
      case 'version_atleast':
        return compareVersions(facts().version, args[0]!) >= 0;
      case 'version_before':
        return compareVersions(facts().version, args[0]!) < 0;
      default:
        return fail();
    }
  };
  const value = or();
  blank();
  if (i < text.length) fail();
  return value;
}

/* ---------------------------------------------------------------- options */

/** Keywords of a `bind` line that take a value (the others are flags). */
const BIND_WITH_VALUE = new Set([
  'accept-netscaler-cip', 'alpn', 'backlog', 'ca-file', 'ca-ignore-err', 'ca-sign-file', 'ca-sign-pass', 'ca-verify-file', 'ciphers', 'ciphersuites', 'client-sigalgs', 'crl-file', 'crt',
  'crt-ignore-err', 'crt-list', 'curves', 'ecdhe', 'expose-fd', 'gid', 'group', 'id', 'interface', 'level', 'maxconn', 'mode', 'mss', 'name', 'namespace', 'nice', 'npn', 'process', 'proto',
  'quic-cc-algo', 'severity-output', 'shards', 'sigalgs', 'ssl-max-ver', 'ssl-min-ver', 'tcp-ut', 'thread', 'uid', 'user', 'verify', 'label', 'default-crt', 'ktls', 'idle-ping',
]);

/** Keywords of a `server` line that take a value. */
const SERVER_WITH_VALUE = new Set([
  'addr', 'agent-addr', 'agent-inter', 'agent-port', 'agent-send', 'alpn', 'ca-file', 'check-alpn', 'check-proto', 'check-sni', 'ciphers', 'ciphersuites', 'client-sigalgs', 'cookie', 'crl-file',
  'crt', 'curves', 'downinter', 'error-limit', 'fall', 'fastinter', 'hash-key', 'id', 'init-addr', 'inter', 'log-proto', 'maxconn', 'maxqueue', 'max-reuse', 'minconn', 'namespace', 'npn',
  'observe', 'on-error', 'on-marked-down', 'on-marked-up', 'pool-conn-name', 'pool-low-conn', 'pool-max-conn', 'pool-purge-delay', 'port', 'proto', 'proxy-v2-options', 'redir',
  'resolve-net', 'resolve-opts', 'resolve-prefer', 'resolvers', 'rise', 'shard', 'sigalgs', 'slowstart', 'sni', 'socks4', 'ssl-max-ver', 'ssl-min-ver', 'tcp-ut', 'track', 'verify',
  'verifyhost', 'weight', 'ws', 'set-proxy-v2-tlv-fmt', 'guid', 'usesrc', 'interface', 'source',
]);

interface Option {
  readonly name: string;
  /** Index in the directive's args of the keyword, and of its value. */
  readonly index: number;
  readonly value?: string;
}

function optionsOf(args: readonly string[], from: number, withValue: ReadonlySet<string>): Option[] {
  const out: Option[] = [];
  for (let i = from; i < args.length; i++) {
    const name = args[i]!;
    if (withValue.has(name) && i + 1 < args.length) {
      out.push({ name, index: i, value: args[i + 1]! });
      i++;
    } else out.push({ name, index: i });
  }
  return out;
}

const VERSION_OPTIONS = ['ssl-min-ver', 'ssl-max-ver', 'no-sslv3', 'no-tlsv10', 'no-tlsv11', 'no-tlsv12', 'no-tlsv13', 'force-sslv3', 'force-tlsv10', 'force-tlsv11', 'force-tlsv12', 'force-tlsv13'];

/* ---------------------------------------------------------------- addresses */

interface Address {
  readonly written: string;
  readonly kind: 'tcp' | 'unix' | 'fd' | 'dgram';
  /** The same written address and port always get the same sandbox port. */
  readonly key: string;
  /** The port as written (a unix socket: its path). */
  readonly port: string;
  readonly prefix: string;
}

function parseAddress(written: string, expanded: string, d: Directive, what: string): Address {
  const m = /^([a-z0-9]+)@(.*)$/i.exec(expanded);
  const prefix = m ? m[1]!.toLowerCase() : '';
  const rest = m ? m[2]! : expanded;
  if (['unix', 'abns', 'uxst', 'uxdg'].includes(prefix) || (!prefix && rest.startsWith('/'))) return { written, kind: 'unix', key: written, port: rest, prefix };
  if (prefix === 'fd' || prefix === 'sockpair') return { written, kind: 'fd', key: written, port: written, prefix };
  const dgram = ['udp', 'udp4', 'udp6', 'quic4', 'quic6'].includes(prefix);
  // [v6]:port, or the last colon before the port (HAProxy reads :::443 as :: and 443).
  const bracket = /^\[[^\]]*\](?::(.*))?$/.exec(rest);
  const colon = rest.lastIndexOf(':');
  const port = bracket ? (bracket[1] ?? '') : colon < 0 ? '' : rest.slice(colon + 1);
  if (what === 'bind' && !/^\d+(-\d+)?$/.test(port)) broken(d, `bind ${written}: ${port ? `"${port}" is not a port` : 'no port'} (HAProxy listens on <address>:<port>)`);
  // Keyed as written, so that HAProxy's words about it (translated back) read as the file does.
  return { written, kind: dgram ? 'dgram' : 'tcp', key: written, port, prefix };
}

/* ------------------------------------------------------------ certificates */

const EXTRA_FILES = /\.(key|ocsp|issuer|sctl|dh)$/;

/** The certificate file HAProxy loads first for a `crt` (a file, a bundle, or a directory). */
function firstCertificateFile(local: string): string | undefined {
  try {
    if (statSync(local).isDirectory()) {
      const names = readdirSync(local).filter((n) => !n.startsWith('.') && !EXTRA_FILES.test(n)).sort();
      const pick = names.find((n) => n.endsWith('.pem')) ?? names[0];
      return pick ? join(local, pick) : undefined;
    }
    return local;
  } catch {
    return ['.rsa', '.ecdsa', '.dsa'].map((e) => local + e).find((f) => existsSync(f));
  }
}

/** Every certificate file HAProxy loads for a `crt`: the file, or each certificate in the directory. */
function certificateFiles(local: string): string[] {
  try {
    if (statSync(local).isDirectory()) {
      return readdirSync(local).filter((n) => !n.startsWith('.') && !EXTRA_FILES.test(n)).sort().map((n) => join(local, n));
    }
  } catch {
    // a bundle named without its .rsa/.ecdsa ending
  }
  const first = firstCertificateFile(local);
  return first ? [first] : [];
}

/** The DNS names in the subjectAltName of the first certificate in a PEM file. */
function certificateNames(file: string | undefined): string[] {
  if (!file) return [];
  try {
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(readFileSync(file, 'latin1'))?.[0];
    if (!pem) return [];
    const san = new X509Certificate(pem).subjectAltName ?? '';
    return san
      .split(/,\s*/)
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4).replace(/^"|"$/g, ''));
  } catch {
    return [];
  }
}

/* ------------------------------------------------------------------ prepare */

export function prepareHaproxy(file: string, options: HaproxyOptions): Promise<PreparedConfig> {
  return inSandbox((sandbox) => prepare(file, options, sandbox));
}

interface Bind {
  readonly d: Directive;
  readonly section: Directive;
  readonly addresses: readonly Address[];
  readonly options: readonly Option[];
  readonly ssl: boolean;
  /** The sandbox port of its first address. */
  readonly port: number | null;
  /** Local paths of its certificates (`crt`), or the crt-list's first. */
  readonly certificate?: string;
  readonly names: readonly string[];
  /** SNI filters of a crt-list: written names, not certificate names. */
  readonly filters: readonly string[];
  /** Options that do not change what the endpoint serves (used to tell one endpoint's IPv4 and IPv6 binds apart from another's). */
  readonly signature: string;
}

const REMOVED = "(removed by the gate's sandbox)";
const BACKEND_WHY = 'a backend: the gate answers for it, and never contacts the real one';

async function prepare(file: string, options: HaproxyOptions, sandbox: Sandbox): Promise<PreparedConfig> {
  const changes = sandbox.changes;
  const words = new Map<Directive, readonly Word[]>();

  // HAProxy's -f takes a file or a directory, whose *.cfg files it reads in order.
  let isDirectory = false;
  try {
    isDirectory = statSync(file).isDirectory();
  } catch {
    // readConfigText says what is wrong
  }
  const sources = isDirectory
    ? readdirSync(file)
        .filter((n) => n.endsWith('.cfg') && !n.startsWith('.'))
        .sort()
        .map((n) => join(file, n))
    : [file];
  if (!sources.length) throw new HarnessInputError(`${shortPath(file)}: a directory without *.cfg files (HAProxy reads only those)`);
  const top: Directive[] = [];
  for (const source of sources) top.push(...parseFile(source, readConfigText(source), sandbox, words));

  const sections = top.filter((d) => d.children);
  const stray = top.find((d) => !d.children);
  if (stray) broken(stray, `"${stray.name}" is outside any section (global, defaults, frontend, backend, listen, …)`);
  const global = sections.filter((s) => s.name === 'global').flatMap((s) => s.children!);
  const lastGlobal = (name: string): Directive | undefined => global.filter((d) => d.name === name).pop();

  const stubPort = await options.stub.start();
  const listening = new Set<number>();

  /** Keep each argument as written, but for the ones replaced (a string) or dropped (null). */
  const rewrite = (d: Directive, replace: ReadonlyMap<number, string | null>, change?: { from: string; to: string; why: string }): void => {
    if (!replace.size || !d.argSpans.length) return;
    const written = words.get(d)!.slice(1);
    const args = written.map((w, i) => (replace.has(i) ? replace.get(i) : w.raw)).filter((a): a is string => typeof a === 'string');
    sandbox.edit(d, d.argSpans[0]![0], d.argSpans[d.argSpans.length - 1]![1], args.join(' '), change);
  };
  const comment = (d: Directive, why: string, record = true): void => {
    // A section's own line only: its lines are edits of their own.
    const lineEnd = words.get(d)?.at(-1)?.end ?? d.end;
    sandbox.edit(d, d.start, lineEnd, `# ${d.name} ${REMOVED}`, record ? { from: [d.name, ...d.args].join(' '), to: '(removed)', why } : undefined);
  };
  const named = (d: Directive, name: string): Directive => ({ ...d, name });

  // Where relative paths start: HAProxy 2.6's default-path (current directory by default; the gate takes the file's own directory).
  const defaultPath = lastGlobal('default-path');
  const baseOf = (d: Directive): string => {
    const kind = defaultPath?.args[0];
    if (kind === 'parent') return dirname(dirname(d.file));
    if (kind === 'origin' && defaultPath!.args[1]) return resolveConfigPath(defaultPath!.args[1], dirname(defaultPath!.file), options.paths, named(defaultPath!, 'default-path origin'), 'include').local;
    return dirname(d.file);
  };
  if (defaultPath) {
    const base = baseOf(defaultPath);
    rewrite(defaultPath, new Map(defaultPath.args.map((_, i) => [i, i === 0 ? `origin ${quote(base)}` : null] as const)), {
      from: `default-path ${defaultPath.args.join(' ')}`,
      to: `default-path origin ${shortPath(base)}`,
      why: 'the sandbox copy lives elsewhere: relative paths still start where the file says',
    });
  }

  // crt-base and ca-base: resolved when a relative path needs them (an unused one, like Debian's /etc/ssl/private, is left alone).
  interface Base {
    readonly d: Directive;
    local?: string;
  }
  let crtBase: Base | null = null;
  let caBase: Base | null = null;
  const baseFor = (b: Base | null, d: Directive): string => {
    if (!b) return baseOf(d);
    if (b.local === undefined) {
      b.local = resolveTlsFile(b.d.args[0]!, baseOf(b.d), options.paths, b.d, changes, sandbox.named);
      rewrite(b.d, new Map([[0, quote(b.local)]]));
    }
    return b.local;
  };
  /** A TLS file on this machine: a file, a directory of certificates, or a multi-certificate bundle (`site.pem.rsa`, `site.pem.ecdsa`). */
  const tlsFile = (value: string, base: string, d: Directive): string => {
    if (/\$\{?[A-Za-z_]/.test(value)) broken(d, `${d.name} ${value}: a path through an environment variable, whose value where the file ships the gate cannot know; name the file`);
    const resolved = resolveConfigPath(value, base, options.paths, d, 'tls');
    if (!existsSync(resolved.local) && ['.rsa', '.ecdsa', '.dsa'].some((e) => existsSync(resolved.local + e))) {
      if (resolved.change) changes.push(resolved.change);
      sandbox.named.set(shortPath(resolved.local), at(d));
      return resolved.local;
    }
    return resolveTlsFile(value, base, options.paths, d, changes, sandbox.named);
  };
  /** A file HAProxy reads that is not TLS material (error pages, Lua): a file of this machine's package may be used as it is. */
  const otherFile = (value: string, d: Directive): string => {
    const resolved = resolveConfigPath(value, baseOf(d), options.paths, d, 'include');
    if (resolved.change) changes.push(resolved.change);
    if (!existsSync(resolved.local)) broken(d, `${d.name} ${value}: no such file${resolved.local !== value ? ` (looked for ${shortPath(resolved.local)})` : ''}`);
    return resolved.local;
  };

  /** A crt-list: copied into the sandbox with its paths resolved; its first entry's certificate and SNI filters name the endpoint. */
  const crtLists = new Map<string, { copy: string; certificate?: string; filters: string[] }>();
  const crtList = (value: string, d: Directive): { copy: string; certificate?: string; filters: string[] } => {
    const local = tlsFile(value, baseFor(crtBase, d), named(d, 'bind … crt-list'));
    const done = crtLists.get(local);
    if (done) return done;
    const text = readConfigText(local, d);
    sandbox.add(local, text);
    let certificate: string | undefined;
    let filters: string[] | undefined;
    for (const { line, words: entry } of readLines(local, text)) {
      const here: Directive = { name: 'crt-list entry', args: entry.map((w) => w.value), file: local, line, start: entry[0]!.start, end: entry[entry.length - 1]!.end, argSpans: entry.map((w) => [w.start, w.end] as const) };
      const cert = tlsFile(entry[0]!.value, baseFor(crtBase, d), here);
      sandbox.edit(here, entry[0]!.start, entry[0]!.end, quote(cert));
      let inside = false;
      const sni: string[] = [];
      for (let i = 1; i < entry.length; i++) {
        const w = entry[i]!.value;
        if (w.startsWith('[')) inside = true;
        const bare = w.replace(/^\[/, '').replace(/\]$/, '');
        if (inside && (bare === 'ca-file' || bare === 'crl-file' || bare === 'ca-verify-file') && entry[i + 1]) {
          const v = entry[i + 1]!;
          const closing = v.value.endsWith(']');
          const path = tlsFile(v.value.replace(/\]$/, ''), baseFor(caBase, d), named(here, `crt-list entry ${bare}`));
          sandbox.edit(here, v.start, v.end, quote(path) + (closing ? ']' : ''));
        } else if (!inside && bare && !bare.startsWith('!')) sni.push(bare);
        if (w.endsWith(']')) inside = false;
      }
      if (certificate === undefined) {
        certificate = cert;
        filters = sni;
      }
    }
    if (certificate === undefined) broken(d, `bind … crt-list ${value}: the list names no certificate`);
    const list = { copy: sandbox.copyOf(local), certificate, filters: filters ?? [] };
    crtLists.set(local, list);
    return list;
  };

  const binds: Bind[] = [];
  let unixSockets = 0;

  const bind = async (d: Directive, section: Directive): Promise<void> => {
    const ws = words.get(d)!;
    const written = d.args[0];
    if (!written) broken(d, 'bind needs an address and port');
    const addresses = ws[1]!.expanded.split(',').map((a, i) => parseAddress(written.split(',')[i] ?? a, a, d, 'bind'));
    const opts = optionsOf(d.args, 1, BIND_WITH_VALUE);
    const replace = new Map<number, string | null>();
    const serves = section.name === 'frontend' || section.name === 'listen';
    const disabled = section.children!.some((c) => c.name === 'disabled');
    const ports: number[] = [];
    for (const a of addresses) {
      const port = await sandbox.port(`${section.name === 'peers' ? 'peers ' : ''}${a.key}`);
      ports.push(port);
      if (serves && !disabled && a.kind !== 'dgram') listening.add(port);
    }
    const newAddress = addresses.map((a, i) => (a.kind === 'dgram' ? `${a.prefix.replace(/6$/, '4').replace(/^udp$/, 'udp4')}@127.0.0.1:${ports[i]}` : `127.0.0.1:${ports[i]}`)).join(',');
    replace.set(0, newAddress);
    changes.push({ where: at(d), from: `bind ${written}`, to: `bind ${newAddress}`, why: 'the sandbox listens on loopback ports only' });
    const unix = addresses.some((a) => a.kind === 'unix' || a.kind === 'fd');
    const drop = (o: Option, why: string): void => {
      replace.set(o.index, null);
      if (o.value !== undefined) replace.set(o.index + 1, null);
      changes.push({ where: at(d), from: `bind … ${o.name}${o.value !== undefined ? ` ${o.value}` : ''}`, to: '(removed)', why });
    };
    let certificate: string | undefined;
    const certificates: string[] = [];
    let filters: string[] = [];
    for (const o of opts) {
      if (o.name === 'v6only' || o.name === 'v4v6') drop(o, 'an IPv6 socket option; the sandbox listens on 127.0.0.1');
      else if (o.name === 'transparent' || o.name === 'interface' || o.name === 'namespace') drop(o, 'a device, namespace or foreign address; the sandbox listens on 127.0.0.1');
      else if (o.name === 'accept-proxy' || o.name === 'accept-netscaler-cip') drop(o, 'the gate connects directly, without a PROXY protocol header');
      else if (unix && ['user', 'group', 'uid', 'gid', 'mode'].includes(o.name)) drop(o, "a unix socket's owner and mode; the sandbox listens on a loopback port instead");
      else if (o.value === undefined || o.value.startsWith('@')) continue;
      else if (o.name === 'crt') {
        const local = tlsFile(o.value, baseFor(crtBase, d), named(d, 'bind … crt'));
        certificate ??= local;
        certificates.push(local);
        replace.set(o.index + 1, quote(local));
      } else if (o.name === 'crt-list') {
        const list = crtList(o.value, d);
        if (certificate === undefined) [certificate, filters] = [list.certificate, list.filters];
        replace.set(o.index + 1, quote(list.copy));
      } else if (['ca-file', 'crl-file', 'ca-sign-file', 'ca-verify-file'].includes(o.name)) {
        replace.set(o.index + 1, quote(tlsFile(o.value, baseFor(caBase, d), named(d, `bind … ${o.name}`))));
      }
    }
    rewrite(d, replace);
    const ssl = opts.some((o) => o.name === 'ssl');
    const signature = opts
      .filter((o) => !['v6only', 'v4v6', 'interface', 'namespace', 'transparent', 'name', 'id', 'process', 'thread'].includes(o.name))
      .map((o) => `${o.name}=${o.value ?? ''}`)
      .join(' ');
    if (serves && !disabled) {
      binds.push({
        d,
        section,
        addresses,
        options: opts,
        ssl,
        port: addresses[0]!.kind === 'dgram' ? null : ports[0]!,
        ...(certificate !== undefined ? { certificate } : {}),
        // HAProxy chooses among all of a bind's certificates by SNI: every name any of them covers is the endpoint's.
        names: filters.length || certificate === undefined ? [] : [...new Set(certificates.flatMap((c) => certificateFiles(c).flatMap(certificateNames)))],
        filters,
        signature,
      });
    }
  };

  /** `server`, `default-server`, `server-template`: the address → the stub; TLS to the backend, PROXY headers and source binding dropped. */
  const server = (d: Directive, addressIndex: number | null): void => {
    const replace = new Map<number, string | null>();
    const target = `127.0.0.1:${stubPort}`;
    if (addressIndex !== null && d.args[addressIndex] !== undefined) {
      replace.set(addressIndex, target);
      changes.push({ where: at(d), from: d.args[addressIndex]!, to: target, why: BACKEND_WHY });
    }
    const dropped: string[] = [];
    const opts = optionsOf(d.args, addressIndex === null ? 0 : addressIndex + 1, SERVER_WITH_VALUE);
    for (const o of opts) {
      const remove = (): void => {
        replace.set(o.index, null);
        if (o.value !== undefined) replace.set(o.index + 1, null);
        dropped.push(o.value !== undefined ? `${o.name} ${o.value}` : o.name);
      };
      if (['ssl', 'check-ssl', 'verify', 'verifyhost', 'ca-file', 'crl-file', 'crt', 'sni', 'check-sni', 'send-proxy', 'send-proxy-v2', 'send-proxy-v2-ssl', 'send-proxy-v2-ssl-cn', 'proxy-v2-options', 'check-send-proxy', 'source', 'usesrc', 'interface', 'namespace', 'socks4'].includes(o.name)) remove();
      else if (o.name === 'addr' || o.name === 'agent-addr') {
        replace.set(o.index + 1, '127.0.0.1');
        changes.push({ where: at(d), from: `${o.name} ${o.value}`, to: `${o.name} 127.0.0.1`, why: BACKEND_WHY });
      } else if (o.name === 'port' && o.value !== undefined) {
        replace.set(o.index + 1, String(stubPort));
        changes.push({ where: at(d), from: `port ${o.value}`, to: `port ${stubPort}`, why: 'health checks go to the backend stub too' });
      }
    }
    if (dropped.length) changes.push({ where: at(d), from: `${d.name} … ${dropped.join(' ')}`, to: '(removed)', why: 'the backend stub speaks plain HTTP on loopback: no TLS, PROXY header or source address towards it' });
    rewrite(d, replace);
  };

  for (const section of sections) {
    const kind = section.name;
    if (kind === 'program' || kind === 'log-forward') {
      comment(section, kind === 'program' ? 'a program section runs an external command; the sandbox runs only haproxy' : 'a syslog relay: the sandbox sends and receives no logs');
      for (const d of section.children!) comment(d, '', false);
      continue;
    }
    for (const d of section.children!) {
      if (kind === 'global') {
        switch (d.name) {
          case 'pidfile':
            rewrite(d, new Map([[0, quote(sandbox.own('haproxy.pid'))]]), { from: `pidfile ${d.args.join(' ')}`, to: `pidfile ${sandbox.own('haproxy.pid')}`, why: 'the sandbox keeps its own pid file' });
            continue;
          case 'daemon':
          case 'master-worker':
          case 'nbproc':
            comment(d, 'the sandbox runs haproxy in the foreground, one process');
            continue;
          case 'user':
          case 'group':
          case 'uid':
          case 'gid':
          case 'chroot':
            comment(d, 'the sandbox runs as the current user, without chroot');
            continue;
          case 'log':
            comment(d, 'no log traffic leaves the sandbox');
            continue;
          case 'crt-base':
            if (d.args[0]) crtBase = { d };
            continue;
          case 'ca-base':
            if (d.args[0]) caBase = { d };
            continue;
          case 'ssl-dh-param-file':
          case 'issuers-chain-path':
            if (d.args[0]) rewrite(d, new Map([[0, quote(tlsFile(d.args[0], baseOf(d), d))]]));
            continue;
          case 'lua-load':
          case 'lua-load-per-thread':
            if (d.args[0]) rewrite(d, new Map([[0, quote(otherFile(d.args[0], d))]]));
            continue;
          case 'stats':
            if (d.args[0] === 'socket' && d.args[1]) {
              const a = parseAddress(d.args[1], words.get(d)![2]!.expanded, d, 'stats socket');
              let to: string;
              if (a.kind === 'tcp') {
                const port = await sandbox.port(`stats ${a.key}`);
                listening.add(port);
                to = `127.0.0.1:${port}`;
              } else to = sandbox.own(`stats-${unixSockets++}.sock`);
              const replace = new Map<number, string | null>([[1, quote(to)]]);
              for (const o of optionsOf(d.args, 2, new Set(['user', 'group', 'uid', 'gid', 'mode', 'level', 'severity-output', 'expose-fd', 'process', 'thread', 'name', 'maxconn', 'backlog', 'id']))) {
                if (['user', 'group', 'uid', 'gid'].includes(o.name)) [o.index, o.index + 1].forEach((i) => replace.set(i, null));
              }
              rewrite(d, replace, { from: `stats socket ${d.args[1]}`, to: `stats socket ${to}`, why: "the stats socket is the sandbox's own, owned by the current user" });
            }
            continue;
          default:
            continue;
        }
      }
      switch (d.name) {
        case 'bind':
          await bind(d, section);
          break;
        case 'server':
          if (kind === 'peers') {
            if (d.args[1]) rewrite(d, new Map([[1, `127.0.0.1:${await sandbox.port(`peers ${d.args[1]}`)}`]]), { from: d.args[1], to: '127.0.0.1 (a sandbox port)', why: 'a peer: the sandbox talks to no other haproxy' });
          } else server(d, 1);
          break;
        case 'peer':
          if (d.args[1]) rewrite(d, new Map([[1, `127.0.0.1:${await sandbox.port(`peers ${d.args[1]}`)}`]]), { from: d.args[1], to: '127.0.0.1 (a sandbox port)', why: 'a peer: the sandbox talks to no other haproxy' });
          break;
        case 'server-template':
          server(d, 2);
          break;
        case 'default-server':
          server(d, null);
          break;
        case 'nameserver':
        case 'mailer':
          if (d.args[1]) rewrite(d, new Map([[1, `127.0.0.1:${stubPort}`]]), { from: d.args[1], to: `127.0.0.1:${stubPort}`, why: `a ${d.name}: the gate never contacts the real one` });
          break;
        case 'log':
          comment(d, 'no log traffic leaves the sandbox');
          break;
        case 'errorfile':
          if (d.args[1]) rewrite(d, new Map([[1, quote(otherFile(d.args[1], d))]]));
          break;
        case 'http-request':
        case 'http-response':
        case 'http-after-response':
        case 'http-error': {
          const replace = new Map<number, string | null>();
          d.args.forEach((a, i) => {
            if ((a === 'file' || a === 'lf-file' || a === 'errorfile') && d.args[i + 1] && (d.name === 'http-error' || d.args[0] === 'return')) replace.set(i + 1, quote(otherFile(d.args[i + 1]!, d)));
          });
          rewrite(d, replace);
          break;
        }
        default:
      }
    }
  }

  // The endpoints: each `bind … ssl` of a frontend or listen section; a section's binds that differ only in address (IPv4 and IPv6) are one endpoint.
  const endpoints: Endpoint[] = [];
  const seen = new Set<string>();
  const defaultBind = optionsOf(lastGlobal('ssl-default-bind-options')?.args ?? [], 0, BIND_WITH_VALUE);
  for (const b of binds) {
    if (!b.ssl || b.port === null) continue;
    const sameEndpoint = `${b.section.file}:${b.section.line} ${b.signature}`;
    if (seen.has(sameEndpoint)) continue;
    seen.add(sameEndpoint);
    const bindAt = at(b.d);
    const has = (...names: string[]): Option | undefined => b.options.find((o) => names.includes(o.name));
    const onBindOrGlobal = (option: string, globalName: string, missing: string, also?: string): Located => {
      const o = has(option, ...(also ? [also] : []));
      if (o) return { directive: `bind … ${o.name}`, where: bindAt };
      const g = lastGlobal(globalName);
      if (g) return { directive: globalName, where: at(g) };
      return { directive: `bind … ${option}`, where: bindAt, missing };
    };
    const certificate = has('crt', 'crt-list');
    const hsts = (): Located => {
      const isHsts = (d: Directive): boolean => (d.name === 'http-response' || d.name === 'http-after-response') && (d.args[0] === 'set-header' || d.args[0] === 'add-header') && d.args[1]?.toLowerCase() === 'strict-transport-security';
      const backendName = b.section.children!.find((d) => d.name === 'default_backend')?.args[0];
      const backend = sections.find((s) => s.name === 'backend' && s.args[0] === backendName);
      const d = b.section.children!.find(isHsts) ?? backend?.children!.find(isHsts);
      if (d) return { directive: `${d.name} ${d.args[0]} Strict-Transport-Security`, where: at(d) };
      return { directive: 'http-response set-header Strict-Transport-Security', where: at(b.section), missing: 'no Strict-Transport-Security header is added' };
    };
    const locate = (knob: Knob): Located => {
      switch (knob) {
        case 'program':
          return { directive: 'haproxy (and its OpenSSL)', where: bindAt };
        case 'versions': {
          const o = has(...VERSION_OPTIONS);
          if (o) return { directive: `bind … ${o.name}`, where: bindAt };
          const g = lastGlobal('ssl-default-bind-options');
          if (g && defaultBind.some((x) => VERSION_OPTIONS.includes(x.name))) return { directive: 'ssl-default-bind-options', where: at(g) };
          return { directive: 'bind … ssl-min-ver', where: bindAt, missing: "HAProxy 2.6's default applies: ssl-min-ver TLSv1.2 (TLS 1.2 and TLS 1.3)" };
        }
        case 'ciphers':
          return onBindOrGlobal('ciphers', 'ssl-default-bind-ciphers', "HAProxy's default applies: OpenSSL's default TLS 1.2 cipher list");
        case 'tls13':
          return onBindOrGlobal('ciphersuites', 'ssl-default-bind-ciphersuites', "OpenSSL's default TLS 1.3 suites apply");
        case 'groups':
          return onBindOrGlobal('curves', 'ssl-default-bind-curves', "OpenSSL's default groups apply", 'ecdhe');
        case 'order': {
          if (has('prefer-client-ciphers')) return { directive: 'bind … prefer-client-ciphers', where: bindAt };
          const g = lastGlobal('ssl-default-bind-options');
          if (g && defaultBind.some((x) => x.name === 'prefer-client-ciphers')) return { directive: 'ssl-default-bind-options', where: at(g) };
          return { directive: 'bind … prefer-client-ciphers', where: bindAt, missing: "HAProxy's default applies: the server's cipher order (no prefer-client-ciphers)" };
        }
        case 'cert':
        case 'key':
        case 'names':
          return certificate ? { directive: `bind … ${certificate.name}`, where: bindAt } : { directive: 'bind … crt', where: bindAt, missing: 'no certificate' };
        case 'ocsp': {
          if (!certificate) return { directive: 'bind … crt', where: bindAt, missing: 'no certificate' };
          const stapled = b.certificate !== undefined && existsSync(`${firstCertificateFile(b.certificate) ?? b.certificate}.ocsp`);
          return stapled
            ? { directive: `bind … ${certificate.name}`, where: bindAt }
            : { directive: `bind … ${certificate.name}`, where: bindAt, missing: 'no <certificate>.ocsp response file beside the certificate: HAProxy 2.6 staples only a response it is given' };
        }
        case 'ca':
          return has('ca-file') ? { directive: 'bind … ca-file', where: bindAt } : { directive: 'bind … ca-file', where: bindAt, missing: 'no CA for client certificates' };
        case 'verify':
          return has('verify')
            ? { directive: 'bind … verify', where: bindAt }
            : { directive: 'bind … verify', where: bindAt, missing: `HAProxy's default applies: verify none (no client certificate asked for${has('ca-file') ? ', even with ca-file' : ''})` };
        case 'hsts':
          return hsts();
        case 'dhparam': {
          const g = lastGlobal('ssl-dh-param-file') ?? lastGlobal('tune.ssl.default-dh-param');
          if (g) return { directive: g.name, where: at(g) };
          return { directive: 'ssl-dh-param-file', where: bindAt, missing: "HAProxy 2.6's default applies: DH parameters in the crt file if any, else a 2048-bit group (tune.ssl.default-dh-param 2048)" };
        }
      }
    };
    const verify = has('verify')?.value;
    const mode = verify === 'required' ? 'require' : verify === 'optional' ? 'optional' : 'none';
    // No server_name in HAProxy: the certificate's names (or the crt-list's SNI filters), those hostnames: gives first.
    const certified = b.filters.length ? b.filters : b.names;
    const { names: found, patterns } = endpointNames(certified, options.hostnames);
    const covered = options.hostnames.filter((h) => certified.some((n) => patternMatches(n, h)));
    const names = [...covered, ...found].filter((n, i, all) => all.findIndex((x) => x.toLowerCase() === n.toLowerCase()) === i);
    const first = b.addresses[0]!;
    let id = `${names[0] ?? '(any name)'}:${first.kind === 'tcp' ? first.port : first.written}`;
    if (endpoints.some((e) => e.id === id)) id = `${id} (${b.section.name} ${b.section.args[0] ?? ''}, ${bindAt})`;
    const sectionName = `${b.section.name}${b.section.args[0] ? ` ${b.section.args[0]}` : ''}`;
    const written = words.get(b.d)!.slice(1).map((w) => w.raw).join(' ');
    endpoints.push({
      label: `bind at ${bindAt} in ${sectionName} (${written})`,
      id,
      names,
      patterns,
      // A bind is a socket of its own: a client that names no host reaches it.
      reachableWithoutName: true,
      port: b.port,
      listen: written,
      clientCertificates: { mode, located: locate('verify') },
      locate,
    });
  }
  if (!endpoints.length) {
    const first = sections.find((s) => s.name === 'frontend' || s.name === 'listen') ?? { file: sources[0]!, line: 1 };
    broken(first, `no TLS endpoint: no bind with ssl in a frontend or listen section${binds.length ? '' : ' (no bind at all)'}; the gate checks TLS endpoints`);
  }

  // In the order of the files and lines (a crt-base is resolved when first used).
  const order = (where: string): [number, number] => {
    const colon = where.lastIndexOf(':');
    return [sandbox.files.map(shortPath).indexOf(where.slice(0, colon)), parseInt(where.slice(colon + 1), 10) || 0];
  };
  changes.sort((a, b) => {
    const [fa, la] = order(a.where);
    const [fb, lb] = order(b.where);
    return fa - fb || la - lb;
  });
  sandbox.write();
  const main = sandbox.copyOf(file);
  return {
    implementation: 'haproxy',
    file,
    files: sandbox.files,
    endpoints,
    changes,
    directory: sandbox.directory,
    command: 'haproxy',
    testArgs: ['-c', '-f', main],
    // -db: the foreground, no daemon (HAProxy writes no pid file then).
    runArgs: ['-db', '-f', main],
    ports: [...listening],
    named: sandbox.named,
    // HAProxy prefixes its complaints with "config :".
    translate: (text) => sandbox.translate(text).replace(/:\s*config\s*:\s*/g, ': '),
  };
}
