/**
 * Apache httpd's own configuration file, run unchanged but for the sandbox by
 * this machine's apache2 (Debian's build, modules in /usr/lib/apache2/modules):
 * parsed with its includes (every directive keeps its file and line), each
 * `<VirtualHost>` with `SSLEngine on` an endpoint, and line-preserving edits
 * for listen addresses, pid, logs, user, mutexes, caches, backends and
 * stapling fetches. A file that loads no modules itself (a site file, as in
 * sites-available/) runs inside a main file the sandbox writes, which loads
 * Debian's modules and includes it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { shortPath } from '../errors';
import { at, broken, expandGlob, mappedPath, readConfigText, resolveConfigPath, resolveTlsFile, inSandbox, Sandbox, type PathMap, type BackendStub } from './sandbox';
import { endpointNames } from './names';
import type { Directive, Endpoint, Knob, Located, PreparedConfig } from './types';

const APACHE = process.env.TLS_CONFORMANCE_APACHE ?? '/usr/sbin/apache2';
const MODULES = process.env.TLS_CONFORMANCE_APACHE_MODULES ?? '/usr/lib/apache2/modules';

export interface ApacheOptions {
  readonly paths: PathMap;
  /** Concrete names for the file's wildcard ServerNames and ServerAliases. */
  readonly hostnames: readonly string[];
  readonly stub: BackendStub;
}

// ---------------------------------------------------------------------------
// Reading the file: logical lines (with `\` continuations), words, containers.

interface Word {
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

/** A logical line: its characters and, for each, its offset in the file. */
interface LogicalLine {
  readonly text: string;
  readonly offsets: readonly number[];
  readonly line: number;
  readonly start: number;
  /** Offset just past the line's last character (before its newline). */
  readonly end: number;
}

function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let offset = 0;
  let lineNumber = 1;
  while (offset < text.length) {
    let chars = '';
    const offsets: number[] = [];
    const first = lineNumber;
    const start = offset;
    let end = offset;
    for (;;) {
      const newline = text.indexOf('\n', offset);
      const stop = newline < 0 ? text.length : newline;
      let content = stop;
      if (content > offset && text[content - 1] === '\r') content--;
      // Apache continues a line that ends in one backslash (not two) right before the newline.
      const continued = newline >= 0 && content > offset && text[content - 1] === '\\' && !(content - 1 > offset && text[content - 2] === '\\');
      const last = continued ? content - 1 : content;
      for (let i = offset; i < last; i++) {
        chars += text[i];
        offsets.push(i);
      }
      end = content;
      offset = newline < 0 ? text.length : newline + 1;
      if (newline >= 0) lineNumber++;
      if (!continued || offset >= text.length) break;
    }
    out.push({ text: chars, offsets, line: first, start, end });
  }
  return out;
}

/** Apache's words (ap_getword_conf): white space separates them; quotes at a word's start hold spaces; `\\` and `\"` escape. */
function words(line: LogicalLine, from = 0, to = line.text.length): Word[] {
  const out: Word[] = [];
  const s = line.text;
  let i = from;
  const span = (a: number, b: number): [number, number] => [line.offsets[a]!, line.offsets[b - 1]! + 1];
  while (i < to) {
    while (i < to && /\s/.test(s[i]!)) i++;
    if (i >= to) break;
    const quote = s[i] === '"' || s[i] === "'" ? s[i]! : null;
    const begin = i;
    let value = '';
    if (quote) {
      i++;
      while (i < to && s[i] !== quote) {
        if (s[i] === '\\' && i + 1 < to && (s[i + 1] === quote || s[i + 1] === '\\')) {
          value += s[i + 1];
          i += 2;
          continue;
        }
        value += s[i];
        i++;
      }
      if (i < to) i++;
    } else {
      while (i < to && !/\s/.test(s[i]!)) {
        if (s[i] === '\\' && s[i + 1] === '\\') {
          value += '\\';
          i += 2;
          continue;
        }
        value += s[i];
        i++;
      }
    }
    const [a, b] = span(begin, i);
    out.push({ value, start: a, end: b });
  }
  return out;
}

interface Container {
  readonly name: string;
  readonly args: readonly Word[];
  readonly line: number;
  readonly start: number;
  readonly children: Directive[];
}

interface ParseState {
  readonly sandbox: Sandbox;
  readonly paths: PathMap;
  /** The ServerRoot so far (local): relative includes and files are read from it. */
  serverRoot: string;
  /** `Define` names and values, and the sandbox's envvars: `${NAME}` in include paths. */
  readonly defines: Map<string, string>;
  /** The names `Define` sets, for <IfDefine>. */
  readonly defined: Set<string>;
}

/** Each ServerRoot directive → the directory it names, here. */
const serverRoots = new WeakMap<Directive, string>();

const CONDITIONAL = new Set(['ifmodule', 'ifdefine', 'ifversion', 'iffile', 'ifdirective', 'ifsection']);

function expandDefines(value: string, state: ParseState): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (all, name: string) => state.defines.get(name) ?? all);
}

function parseFile(file: string, text: string, state: ParseState, depth: number): Directive[] {
  state.sandbox.add(file, text);
  const texts = TEXTS.get(state.sandbox) ?? new Map<string, string>();
  texts.set(file, text);
  TEXTS.set(state.sandbox, texts);
  const root: Container = { name: '', args: [], line: 0, start: 0, children: [] };
  const stack: Container[] = [root];
  for (const line of logicalLines(text)) {
    const trimmed = line.text.trimStart();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const lead = line.text.length - trimmed.length;
    const here = { file, line: line.line };
    if (trimmed.startsWith('</')) {
      const close = /^<\/\s*([^\s>]*)\s*>?/.exec(trimmed)![1]!;
      const open = stack[stack.length - 1]!;
      if (open === root) broken(here, `</${close}> without matching <${close}> section`);
      if (open.name.toLowerCase() !== close.toLowerCase()) broken(here, `expected </${open.name}> but saw </${close}>`);
      stack.pop();
      const argSpans = open.args.map((w) => [w.start, w.end] as const);
      stack[stack.length - 1]!.children.push({ name: open.name, args: open.args.map((w) => w.value), file, line: open.line, start: open.start, end: line.end, argSpans, children: open.children });
      continue;
    }
    if (trimmed.startsWith('<')) {
      const nameMatch = /^<([^\s>]+)/.exec(trimmed);
      const name = nameMatch?.[1] ?? '';
      if (!name) broken(here, `"<" without a section name`);
      const rest = lead + 1 + name.length;
      const close = line.text.lastIndexOf('>');
      if (close < rest) broken(here, `<${name}> directive missing closing '>'`);
      stack.push({ name, args: words(line, rest, close), line: line.line, start: line.offsets[lead]!, children: [] });
      continue;
    }
    const all = words(line);
    const [head, ...args] = all;
    const d: Directive = { name: head!.value, args: args.map((w) => w.value), file, line: line.line, start: head!.start, end: line.end, argSpans: args.map((w) => [w.start, w.end] as const) };
    const lower = d.name.toLowerCase();
    const target = stack[stack.length - 1]!.children;
    if (lower === 'include' || lower === 'includeoptional') {
      // Apache skips a false <IfModule>/<IfDefine> without reading its includes: inside one, a missing file is apache2 -t's to judge.
      const conditional = stack.some((c) => CONDITIONAL.has(c.name.toLowerCase()));
      target.push(include(d, state, depth, conditional));
    } else {
      if (lower === 'serverroot' && d.args[0]) {
        const resolved = resolveConfigPath(expandDefines(d.args[0], state), dirname(file), state.paths, d, 'include');
        if (resolved.change) state.sandbox.changes.push(resolved.change);
        state.serverRoot = resolved.local;
        serverRoots.set(d, resolved.local);
      } else if (lower === 'define' && d.args[0]) {
        state.defines.set(d.args[0], d.args[1] ?? '');
        state.defined.add(d.args[0]);
      }
      target.push(d);
    }
  }
  if (stack.length > 1) {
    const open = stack[stack.length - 1]!;
    broken({ file, line: open.line }, `<${open.name}> was not closed`);
  }
  return root.children;
}

/** The files an include brings in: a directory's files (recursively, sorted), as Apache reads them. */
function filesOf(path: string): string[] {
  try {
    if (!statSync(path).isDirectory()) return [path];
  } catch {
    return [];
  }
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesOf(join(path, name)));
}

function include(d: Directive, state: ParseState, depth: number, conditional: boolean): Directive {
  const optional = d.name.toLowerCase() === 'includeoptional';
  const written = d.args[0];
  if (d.args.length !== 1 || written === undefined) return broken(d, `${d.name} takes one file, directory or pattern`);
  if (depth > 20) broken(d, 'includes nested more than 20 deep');
  const value = expandDefines(written, state);
  const glob = /[*?[]/.test(value);
  const absolute = isAbsolute(value);
  // IncludeOptional of a path outside the mapped ones that is not here: Apache includes nothing, as it does here.
  if (optional && absolute && !mappedPath(value, state.paths) && !expandGlob(value).length) {
    state.sandbox.changes.push({ where: at(d), from: written, to: '(nothing)', why: 'IncludeOptional of a path outside the mapped paths that does not exist here: nothing is included' });
    return { ...d, included: [] };
  }
  const resolved = resolveConfigPath(value, state.serverRoot, state.paths, d, 'include');
  if (resolved.change) state.sandbox.changes.push(resolved.change);
  // This machine's own package files (Debian's mods-enabled/, conf-enabled/) are read from here and copied like the user's: their listens are sandboxed too.
  const matches = expandGlob(resolved.local);
  if (!matches.length) {
    if (!optional && !conditional) broken(d, glob ? `${d.name} ${written}: no file matches the pattern (IncludeOptional allows none)` : `${d.name} ${written}: no such file or directory${resolved.local !== written ? ` (looked for ${shortPath(resolved.local)})` : ''}`);
  }
  const included: Directive[] = [];
  for (const match of matches) {
    for (const path of filesOf(match)) included.push(...parseFile(path, readConfigText(path, d), state, depth + 1));
  }
  const [s, e] = d.argSpans[0]!;
  editSpan(state.sandbox, d, s, e, quote(state.sandbox.copyOf(resolved.local)));
  return { ...d, included };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

/** A value in double quotes, as Apache reads it back. */
function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

/** The text of each file read, for edits that must know what they replace. */
const TEXTS = new WeakMap<Sandbox, Map<string, string>>();

/** Replace part of a directive; a span that crossed `\` continuations keeps them, so no line moves. */
function editSpan(sandbox: Sandbox, d: Directive, start: number, end: number, text: string, change?: { from: string; to: string; why: string }): void {
  const replaced = TEXTS.get(sandbox)?.get(d.file)?.slice(start, end) ?? '';
  const breaks = (replaced.match(/\n/g) ?? []).length;
  sandbox.edit(d, start, end, ' \\\n'.repeat(breaks) + text, change);
}

// ---------------------------------------------------------------------------
// This machine's apache2.

interface Machine {
  readonly version: string;
  /** Modules compiled into apache2 (apache2 -l), as module names: log_config_module. */
  readonly builtIn: ReadonlySet<string>;
}

let machine: Machine | null = null;

function thisApache(): Machine {
  if (machine) return machine;
  let version = '2.4.0';
  const builtIn = new Set<string>();
  try {
    version = /Apache\/(\d+\.\d+\.\d+)/.exec(execFileSync(APACHE, ['-v'], { encoding: 'utf8', timeout: 5000 }))?.[1] ?? version;
    for (const source of execFileSync(APACHE, ['-l'], { encoding: 'utf8', timeout: 5000 }).match(/\S+\.c\b/g) ?? []) builtIn.add(moduleName(source));
  } catch {
    // apache2 missing: the gate says so before this is asked
  }
  machine = { version, builtIn };
  return machine;
}

/** `mod_ssl.c`, `ssl_module`, `prefork.c` → the module's name, `ssl_module`. */
function moduleName(written: string): string {
  const w = written.trim();
  if (/_module$/.test(w)) return w;
  const source = w.replace(/\.c$/, '');
  const special: Record<string, string> = { core: 'core_module', http_core: 'http_module', prefork: 'mpm_prefork_module', event: 'mpm_event_module', worker: 'mpm_worker_module', mod_so: 'so_module' };
  return special[source] ?? `${source.replace(/^mod_/, '')}_module`;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// What the gate asks of the file, in Apache's words.

const KNOBS: Record<Exclude<Knob, 'program'>, { name: string; display: string; missing: string; first?: boolean }> = {
  versions: { name: 'sslprotocol', display: 'SSLProtocol', missing: "mod_ssl's default applies: all -SSLv3 (TLS 1.0 to 1.3, as far as OpenSSL allows at its security level)" },
  ciphers: { name: 'sslciphersuite', display: 'SSLCipherSuite', missing: "mod_ssl's default applies: OpenSSL's DEFAULT list" },
  tls13: { name: 'sslciphersuite', display: 'SSLCipherSuite TLSv1.3', missing: "OpenSSL's default TLS 1.3 suites apply" },
  groups: { name: 'sslopensslconfcmd', display: 'SSLOpenSSLConfCmd Curves', missing: "OpenSSL's default groups apply" },
  order: { name: 'sslhonorcipherorder', display: 'SSLHonorCipherOrder', missing: "mod_ssl's default applies: off (the client's order)" },
  cert: { name: 'sslcertificatefile', display: 'SSLCertificateFile', missing: 'no certificate', first: true },
  key: { name: 'sslcertificatekeyfile', display: 'SSLCertificateKeyFile', missing: 'no key file: the key is read from SSLCertificateFile', first: true },
  ca: { name: 'sslcacertificatefile', display: 'SSLCACertificateFile', missing: 'no CA for client certificates' },
  verify: { name: 'sslverifyclient', display: 'SSLVerifyClient', missing: "mod_ssl's default applies: none (no client certificate asked for)" },
  names: { name: 'servername', display: 'ServerName', missing: 'no ServerName: the first virtual host of its address answers any name' },
  hsts: { name: 'header', display: 'Header always set Strict-Transport-Security', missing: 'no Strict-Transport-Security header is set' },
  ocsp: { name: 'sslusestapling', display: 'SSLUseStapling', missing: "mod_ssl's default applies: off" },
  dhparam: { name: 'sslopensslconfcmd', display: 'SSLOpenSSLConfCmd DHParameters', missing: 'no DH parameters: OpenSSL picks them by the key size' },
};

/** Directives naming a file of TLS material (certificates, keys, CAs, CRLs): read from the mapped paths. */
const TLS_FILES = new Set(
  [
    'SSLCertificateFile', 'SSLCertificateKeyFile', 'SSLCertificateChainFile', 'SSLCACertificateFile', 'SSLCACertificatePath', 'SSLCARevocationFile', 'SSLCARevocationPath',
    'SSLCADNRequestFile', 'SSLCADNRequestPath', 'SSLOCSPResponderCertificateFile', 'SSLSessionTicketKeyFile', 'SSLSRPVerifierFile',
    'SSLProxyCACertificateFile', 'SSLProxyCACertificatePath', 'SSLProxyCARevocationFile', 'SSLProxyCARevocationPath', 'SSLProxyMachineCertificateFile', 'SSLProxyMachineCertificatePath', 'SSLProxyMachineCertificateChainFile',
  ].map((n) => n.toLowerCase()),
);
/** SSLOpenSSLConfCmd commands whose value is a file. */
const CONF_CMD_FILES = new Set(['dhparameters', 'certificate', 'privatekey', 'chaincafile', 'chaincapath', 'verifycafile', 'verifycapath', 'requestcafile', 'clientcafile', 'serverinfofile']);
const PROXY_URLS = new Set(['proxypass', 'proxypassmatch', 'proxypassreverse', 'balancermember', 'proxyremote', 'proxyremotematch']);
const STUB_WHY = 'a backend: the gate answers for it, and never contacts the real one';
const STAPLING_WHY = 'fetching a staple would contact the OCSP responder named in the certificate, which the gate never does';

/** Debian's modules a site file is run with, and more when the file uses their directives. */
const BASE_MODULES = ['mpm_event', 'authz_core', 'authz_host', 'authn_core', 'ssl', 'socache_shmcb', 'mime', 'dir', 'alias', 'headers', 'setenvif', 'rewrite', 'proxy', 'proxy_http', 'log_config'];
const MODULES_FOR: readonly [RegExp, readonly string[]][] = [
  [/^(order|allow|deny|satisfy)$/, ['access_compat']],
  [/^auth(type|name|userfile|basicprovider)$/, ['auth_basic', 'authn_file', 'authz_user']],
  [/^authgroupfile$/, ['authz_groupfile']],
  [/^expires/, ['expires']],
  [/^remoteip/, ['remoteip']],
  [/^h2/, ['http2']],
  [/^(balancermember|proxyset)$/, ['proxy_balancer', 'slotmem_shm', 'lbmethod_byrequests']],
  [/^(addoutputfilterbytype|addoutputfilter)$/, ['filter', 'deflate']],
  [/^brotli/, ['brotli']],
  [/^(substitute)$/, ['substitute']],
  [/^(requestheader)$/, ['headers']],
  [/^directoryindex$/, ['dir']],
  [/^(sslstapling|sslusestapling)/, ['socache_shmcb']],
  [/^(limitrequestbody|requestreadtimeout)$/, ['reqtimeout']],
  [/^(status|extendedstatus)$/, ['status']],
  [/^(userdir)$/, ['userdir']],
  [/^(setenv|unsetenv|passenv)$/, ['env']],
];

interface ListenAt {
  readonly host: string;
  readonly port: string;
  readonly key: string;
}

/** `[addr:]port` → a key both Listen and VirtualHost use: the wildcard addresses are one, `*`. */
function addressOf(value: string): ListenAt | null {
  const m = /^(?:(\[[0-9a-fA-F:.%A-Za-z]*\]|[^:[\]]*):)?(\d+|\*)$/.exec(value) ?? /^(\[[0-9a-fA-F:.]*\]|[^:[\]]+)()$/.exec(value);
  if (!m) return null;
  const raw = (m[1] ?? '').toLowerCase();
  const host = ['', '*', '0.0.0.0', '_default_', '[::]', '[::0]', '[0:0:0:0:0:0:0:0]'].includes(raw) ? '*' : raw;
  const port = m[2] || '*';
  return { host, port, key: `${host}:${port}` };
}

/** The names a ServerName or ServerAlias writes: scheme and port dropped. */
function hostOf(value: string): string {
  return value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/:\d+$/, '').replace(/\/.*$/, '');
}

/** Run-time files and directories Apache writes, by directive: a file of that name in the sandbox, or (empty) the sandbox itself. */
const RUNTIME_FILES: Readonly<Record<string, string>> = { defaultruntimedir: '', scoreboardfile: 'scoreboard', scriptsock: 'cgisock', coredumpdirectory: '', cacheroot: 'cache' };

export function prepareApache(file: string, options: ApacheOptions): Promise<PreparedConfig> {
  return inSandbox((sandbox) => prepare(file, options, sandbox));
}

async function prepare(file: string, options: ApacheOptions, sandbox: Sandbox): Promise<PreparedConfig> {
  const changes = sandbox.changes;
  const own = (name: string): string => sandbox.own(name);
  const env: Record<string, string> = {
    APACHE_RUN_USER: 'nobody',
    APACHE_RUN_GROUP: 'nogroup',
    APACHE_LOG_DIR: sandbox.directory,
    APACHE_PID_FILE: own('httpd.pid'),
    APACHE_RUN_DIR: sandbox.directory,
    APACHE_LOCK_DIR: sandbox.directory,
    LANG: 'C',
  };
  const state: ParseState = { sandbox, paths: options.paths, serverRoot: dirname(file), defines: new Map(Object.entries(env)), defined: new Set() };
  const top = parseFile(file, readConfigText(file), state, 0);
  const { version, builtIn } = thisApache();

  // Every directive, with includes opened in place and where it sits.
  interface Placed {
    readonly d: Directive;
    readonly active: boolean;
    readonly vhost: Directive | null;
    /** Inside a section that is not a conditional one (<Directory>, <Location>, <Files>, <If>, <Proxy>...). */
    readonly nested: boolean;
  }
  const everything: Placed[] = [];
  const collect = (list: readonly Directive[], active: () => boolean, vhost: Directive | null, nested: boolean): void => {
    for (const d of list) {
      if (d.included) {
        collect(d.included, active, vhost, nested);
        continue;
      }
      everything.push({ d, get active() { return active(); }, vhost, nested });
      if (d.children) {
        const lower = d.name.toLowerCase();
        const conditional = CONDITIONAL.has(lower);
        const inner = conditional ? () => active() && condition(d) : active;
        collect(d.children, inner, lower === 'virtualhost' ? d : vhost, nested || (!conditional && lower !== 'virtualhost'));
      }
    }
  };

  // What is loaded: this machine's built-in modules, the file's LoadModules, this machine's included .load files.
  const loadModules = () => everything.filter((p) => p.d.name.toLowerCase() === 'loadmodule');
  const loaded = new Set<string>(builtIn);
  const defined = state.defined;
  const condition = (d: Directive): boolean => {
    const lower = d.name.toLowerCase();
    const arg = d.args.join(' ');
    const negated = arg.startsWith('!');
    const what = negated ? arg.slice(1).trim() : arg;
    let result = true;
    if (lower === 'ifmodule') result = loaded.has(moduleName(what));
    else if (lower === 'ifdefine') result = defined.has(what);
    else if (lower === 'ifversion') result = versionMatches(d.args, version);
    return negated && lower !== 'ifversion' ? !result : result;
  };
  collect(top, () => true, null, false);
  const loadsModules = loadModules().length > 0;
  for (const p of loadModules()) if (p.d.args[0]) loaded.add(p.d.args[0]);
  const wrapperModules: string[] = [];
  if (!loadsModules) {
    const used = new Set(everything.map((p) => p.d.name.toLowerCase()));
    const wanted = [...BASE_MODULES];
    for (const [pattern, modules] of MODULES_FOR) if ([...used].some((u) => pattern.test(u))) wanted.push(...modules);
    if (everything.some((p) => p.d.name.toLowerCase() === 'protocols' && p.d.args.some((a) => /^h2c?$/i.test(a)))) wanted.push('http2');
    if (everything.some((p) => PROXY_URLS.has(p.d.name.toLowerCase()) && p.d.args.some((a) => /^balancer:\/\//i.test(a)))) wanted.push('proxy_balancer', 'slotmem_shm', 'lbmethod_byrequests');
    for (const m of wanted) {
      const name = `${m}_module`;
      if (wrapperModules.includes(m) || builtIn.has(name) || !existsSync(join(MODULES, `mod_${m}.so`))) continue;
      wrapperModules.push(m);
      loaded.add(name);
    }
  }
  const stubPort = await options.stub.start();

  // The sandbox's edits, directive by directive.
  const replaceArgs = (d: Directive, text: string, why: string, from = 0): void => {
    const first = d.argSpans[from];
    const last = d.argSpans[d.argSpans.length - 1];
    if (!first || !last) return;
    editSpan(sandbox, d, first[0], last[1], text, { from: `${d.name} ${d.args.join(' ')}`, to: `${d.name} ${[...d.args.slice(0, from), text].join(' ')}`, why });
  };
  const replaceArg = (d: Directive, index: number, text: string, why?: string): void => {
    const [a, b] = d.argSpans[index]!;
    editSpan(sandbox, d, a, b, text, why ? { from: d.args[index]!, to: text, why } : undefined);
  };
  const tlsBase = state.serverRoot;
  const logFile = own('error.log');
  const accessFile = own('access.log');

  // Listens first: VirtualHost addresses are given the ports their Listens get.
  interface Listening {
    readonly d: Directive;
    readonly at: ListenAt;
    readonly active: boolean;
    port: number;
  }
  const listens: Listening[] = [];
  for (const p of everything.filter((x) => x.d.name.toLowerCase() === 'listen')) {
    const d = p.d;
    const target = d.args[0];
    const listenAt = target ? addressOf(target) : null;
    if (!listenAt || listenAt.port === '*') return broken(d, `Listen ${d.args.join(' ')}: not an address and port Apache listens on`);
    const port = await sandbox.port(listenAt.key);
    const listening: Listening = { d, at: listenAt, active: p.active, port };
    const earlier = listens.find((l) => l.active && l.at.key === listenAt.key);
    if (listening.active && earlier && earlier.d.args[0] !== target) {
      // 0.0.0.0:443 and [::]:443 are two listens in production, and one loopback port here.
      sandbox.edit(d, d.start, d.end, `# ${d.name} (the gate's sandbox: the same port as ${at(earlier.d)})`, { from: `${d.name} ${d.args.join(' ')}`, to: '(removed)', why: `the same port as Listen at ${at(earlier.d)} in the sandbox, which listens on loopback only` });
      continue;
    }
    listens.push(listening);
    replaceArgs(d, [`127.0.0.1:${port}`, ...d.args.slice(1)].join(' '), 'the sandbox listens on loopback ports only');
  }
  const activeListens = listens.filter((l) => l.active);

  // Each VirtualHost address → the loopback ports of the Listens that reach it.
  const extraListens: { key: string; port: number; why: string; where: string }[] = [];
  const vhostPorts = new Map<Directive, { ports: number[]; original: string }>();
  for (const p of everything.filter((x) => x.d.name.toLowerCase() === 'virtualhost' && x.d.children)) {
    const v = p.d;
    const ports: number[] = [];
    const texts: string[] = [];
    let original = '';
    for (let i = 0; i < v.args.length; i++) {
      const written = v.args[i]!;
      const address = addressOf(written);
      if (!address) return broken(v, `<VirtualHost ${written}>: not an address Apache reads`);
      if (!original) original = address.port;
      let reached: number[] = [];
      if (address.port === '*') {
        reached = activeListens.filter((l) => address.host === '*' || l.at.host === address.host || l.at.host === '*').map((l) => l.port);
      } else if (address.host === '*') {
        reached = activeListens.filter((l) => l.at.port === address.port).map((l) => l.port);
      } else {
        const exact = activeListens.find((l) => l.at.key === address.key);
        if (exact) reached = [exact.port];
        else if (activeListens.some((l) => l.at.port === address.port && l.at.host === '*')) {
          const port = await sandbox.port(address.key);
          if (!extraListens.some((x) => x.key === address.key)) extraListens.push({ key: address.key, port, where: at(v), why: `Listen ${address.port} reaches ${written} in production; here it has its own loopback port` });
          reached = [port];
        }
      }
      if (!reached.length && !loadsModules && address.port !== '*' && p.active) {
        // A site file relies on the main configuration's Listen (Debian's ports.conf: Listen 80, and 443 with mod_ssl).
        const port = await sandbox.port(address.key);
        if (!extraListens.some((x) => x.key === address.key)) extraListens.push({ key: address.key, port, where: at(v), why: `a site file: the main configuration listens on ${address.port} (as Debian's ports.conf does for 80 and 443)` });
        reached = [port];
      }
      // *:443 and [::]:443 are one loopback port here: written once.
      const unique = [...new Set(reached)].filter((port) => !ports.includes(port));
      if (reached.length && !unique.length) {
        replaceArg(v, i, '');
        continue;
      }
      ports.push(...unique);
      if (unique.length) texts.push(unique.map((port) => `127.0.0.1:${port}`).join(' '));
      else texts.push(written);
      if (unique.length) replaceArg(v, i, texts[texts.length - 1]!);
    }
    if (texts.join(' ') !== v.args.join(' ')) changes.push({ where: at(v), from: `<VirtualHost ${v.args.join(' ')}>`, to: `<VirtualHost ${texts.join(' ')}>`, why: 'the sandbox listens on loopback ports only; the same address and port as its Listen' });
    vhostPorts.set(v, { ports: [...new Set(ports)], original });
  }

  for (const p of everything) {
    const d = p.d;
    const lower = d.name.toLowerCase();
    if (d.children) continue;
    switch (lower) {
      case 'pidfile':
        replaceArgs(d, quote(own('httpd.pid')), 'the sandbox keeps its own pid file');
        break;
      case 'errorlog':
        replaceArgs(d, quote(logFile), 'logs stay in the sandbox');
        break;
      case 'customlog':
      case 'transferlog':
      case 'globallog':
        if (d.args[0]) replaceArg(d, 0, quote(accessFile), 'logs stay in the sandbox');
        break;
      case 'forensiclog':
        if (d.args[0]) replaceArg(d, 0, quote(own('forensic.log')), 'logs stay in the sandbox');
        break;
      case 'user':
      case 'group':
        if (d.args[0]) replaceArgs(d, lower === 'user' ? 'nobody' : 'nogroup', 'the sandbox serves as nobody, whatever user production runs as');
        break;
      case 'mutex': {
        const mechanism = d.args[0] ?? '';
        if (/^(file|fcntl|flock|sem|pthread|posixsem|sysvsem|default)(:|$)/i.test(mechanism) && /:/.test(mechanism)) {
          replaceArg(d, 0, `${mechanism.split(':')[0]}:${sandbox.directory}`, 'lock files stay in the sandbox');
        }
        break;
      }
      case 'serverroot': {
        // Mapped through paths (a change already listed), or relative to the file.
        const value = d.args[0];
        if (!value) break;
        if (isAbsolute(value) && mappedPath(value, options.paths)) replaceArg(d, 0, quote(serverRoots.get(d) ?? state.serverRoot));
        else if ((serverRoots.get(d) ?? value) !== value) replaceArgs(d, quote(serverRoots.get(d)!), 'relative paths are read from where the file is here');
        break;
      }
      case 'documentroot': {
        // apache2 refuses a DocumentRoot that is not a directory here; what it serves is not the gate's business.
        const value = d.args[0];
        if (!value) break;
        const local = isAbsolute(value) ? (mappedPath(value, options.paths) ?? value) : join(state.serverRoot, value);
        if (isDirectory(local)) {
          if (local !== value) replaceArgs(d, quote(local), 'an absolute path, mapped through paths');
        } else {
          mkdirSync(own('htdocs'), { recursive: true, mode: 0o755 });
          replaceArgs(d, quote(own('htdocs')), 'no such directory here: an empty one in the sandbox stands for it (the gate reads TLS, not pages)');
        }
        break;
      }
      case 'defaultruntimedir':
      case 'scoreboardfile':
      case 'scriptsock':
      case 'coredumpdirectory':
      case 'cacheroot':
        replaceArgs(d, quote(RUNTIME_FILES[lower] ? own(RUNTIME_FILES[lower]) : sandbox.directory), 'run-time files stay in the sandbox');
        break;
      case 'sslsessioncache':
      case 'sslstaplingcache': {
        const value = d.args[0] ?? '';
        const m = /^(shmcb|shm|dbm|shmht):(.*?)(\(\d+\))?$/i.exec(value);
        if (m) replaceArg(d, 0, quote(`${m[1]}:${own(lower === 'sslsessioncache' ? 'ssl_scache' : 'ssl_stapling')}${m[3] ?? ''}`), 'caches stay in the sandbox');
        else if (/^(memcache|redis|dc):/i.test(value)) replaceArg(d, 0, 'none', 'an outside session cache: the gate contacts nothing outside');
        break;
      }
      case 'sslusestapling':
        if (/^on$/i.test(d.args[0] ?? '')) replaceArgs(d, 'off', STAPLING_WHY);
        break;
      case 'sslocspenable':
        if (d.args[0] && !/^off$/i.test(d.args[0])) replaceArgs(d, 'off', 'checking client certificates by OCSP would contact a server outside, which the gate never does');
        break;
      case 'loadmodule': {
        const [name, path] = d.args;
        if (!name || !path) break;
        if (builtIn.has(name)) {
          sandbox.edit(d, d.start, d.end, `# ${d.name} ${name} (built into this apache2)`, { from: `${d.name} ${d.args.join(' ')}`, to: '(removed)', why: "built into this machine's apache2 (apache2 -l), which refuses to load it again" });
          break;
        }
        const here = join(MODULES, basename(path));
        if (!existsSync(here)) return broken(d, `${d.name} ${name} ${path}: this machine's apache2 has no ${basename(path)} (its modules are in ${MODULES})`);
        if (here !== path) replaceArg(d, 1, quote(here), "this machine's module of the same name");
        break;
      }
      case 'sslopensslconfcmd': {
        const command = (d.args[0] ?? '').toLowerCase();
        if (CONF_CMD_FILES.has(command) && d.args[1]) replaceArg(d, 1, quote(resolveTlsFile(d.args[1], tlsBase, options.paths, d, changes, sandbox.named)));
        break;
      }
      case 'sslpassphrasedialog': {
        const m = /^exec:(.+)$/.exec(d.args[0] ?? '');
        if (m) replaceArg(d, 0, quote(`exec:${resolveTlsFile(m[1]!, tlsBase, options.paths, d, changes, sandbox.named)}`));
        break;
      }
      case 'rewriterule': {
        // A rule that proxies ([P]) to an absolute URL.
        const flags = d.args[2] ?? '';
        if (d.args[1] && /^\[.*\b(P|proxy)\b.*\]$/i.test(flags)) proxyArg(d, 1);
        break;
      }
      default:
        if (TLS_FILES.has(lower) && d.args[0] && !/^(pkcs11|data):/i.test(d.args[0])) {
          replaceArg(d, 0, quote(resolveTlsFile(d.args[0], tlsBase, options.paths, d, changes, sandbox.named)));
        } else if (PROXY_URLS.has(lower)) {
          const index = d.args.findIndex((a) => /^([a-z][a-z0-9+.-]*:\/\/|unix:)/i.test(a) && !/^balancer:\/\//i.test(a));
          if (lower.startsWith('proxyremote')) {
            if (d.args[1]) proxyArg(d, 1);
          } else if (index >= 0) proxyArg(d, index);
        }
    }
  }
  function proxyArg(d: Directive, index: number): void {
    const target = d.args[index]!;
    const m = /^(?:unix:[^|]*\|)?([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(target);
    if (!m || /^balancer$/i.test(m[1]!)) return;
    const text = `http://127.0.0.1:${stubPort}${m[3] ?? ''}`;
    replaceArg(d, index, text, STUB_WHY);
  }

  // The endpoints: SSL virtual hosts (and the main server, when it says SSLEngine on itself).
  const scopeOf = (vhost: Directive | null): Directive[] => everything.filter((p) => p.vhost === vhost && !p.nested && p.active && !p.d.children).map((p) => p.d);
  const serverLevel = scopeOf(null);
  const sslOn = (list: readonly Directive[]): boolean | undefined => {
    const engine = list.filter((d) => d.name.toLowerCase() === 'sslengine').pop();
    return engine ? /^on$/i.test(engine.args[0] ?? '') : undefined;
  };
  const mainSsl = sslOn(serverLevel) === true;
  const endpoints: Endpoint[] = [];
  const vhosts = everything.filter((p) => p.d.name.toLowerCase() === 'virtualhost' && p.d.children && p.active).map((p) => p.d);
  const makeEndpoint = (block: Directive | null, anchor: Directive, ownScope: readonly Directive[], port: number, originalPort: string, addresses: string): Endpoint => {
    const blockAt = at(anchor);
    const matching = (name: string, test?: (d: Directive) => boolean) => (d: Directive): boolean => d.name.toLowerCase() === name && (!test || test(d));
    const find = (name: string, test?: (d: Directive) => boolean, first = false): Directive | undefined => {
      const pick = (list: readonly Directive[]): Directive | undefined => (first ? list.find(matching(name, test)) : list.filter(matching(name, test)).pop());
      return pick(ownScope) ?? (block ? pick(serverLevel) : undefined);
    };
    const written = (block ? ownScope : serverLevel).filter((d) => /^server(name|alias)$/i.test(d.name)).flatMap((d) => d.args.map(hostOf)).filter(Boolean);
    const { names, patterns } = endpointNames(written, options.hostnames);
    const locate = (knob: Knob): Located => {
      if (knob === 'program') return { directive: 'apache2 with mod_ssl (and its OpenSSL)', where: blockAt };
      const k = KNOBS[knob];
      let d: Directive | undefined;
      let display = k.display;
      switch (knob) {
        case 'ciphers':
          d = find(k.name, (x) => !/^TLSv1\.3$/i.test(x.args[0] ?? '') || x.args.length < 2);
          break;
        case 'tls13':
          d = find(k.name, (x) => /^TLSv1\.3$/i.test(x.args[0] ?? '') && x.args.length >= 2);
          if (!d && (d = find('sslopensslconfcmd', (x) => /^ciphersuites$/i.test(x.args[0] ?? '')))) display = 'SSLOpenSSLConfCmd Ciphersuites';
          break;
        case 'versions':
          d = find(k.name);
          if (!d && (d = find('sslopensslconfcmd', (x) => /^(minprotocol|maxprotocol|protocol)$/i.test(x.args[0] ?? '')))) display = `SSLOpenSSLConfCmd ${d.args[0]}`;
          break;
        case 'groups':
          d = find(k.name, (x) => /^(curves|groups)$/i.test(x.args[0] ?? ''));
          if (d) display = `SSLOpenSSLConfCmd ${/^groups$/i.test(d.args[0]!) ? 'Groups' : 'Curves'}`;
          break;
        case 'dhparam':
          d = find(k.name, (x) => /^dhparameters$/i.test(x.args[0] ?? ''));
          break;
        case 'hsts':
          d = find(k.name, (x) => x.args.some((a) => /^strict-transport-security:?$/i.test(a)));
          break;
        default:
          d = find(k.name, undefined, k.first);
      }
      if (d) return { directive: display, where: at(d) };
      return { directive: display, where: blockAt, missing: k.missing };
    };
    const verify = find('sslverifyclient')?.args[0]?.toLowerCase();
    const mode = verify === 'require' ? 'require' : verify === 'optional' || verify === 'optional_no_ca' ? 'optional' : 'none';
    const said = (name: string): string[] => (block ? ownScope : serverLevel).filter((d) => d.name.toLowerCase() === name).flatMap((d) => d.args);
    const serverNames = [['ServerName', said('servername')], ['ServerAlias', said('serveralias')]].filter(([, v]) => v!.length).map(([n, v]) => `; ${n} ${(v as string[]).join(' ')}`).join('');
    return {
      label: `${block ? 'VirtualHost' : 'main server'} at ${blockAt} (${addresses}${serverNames})`,
      id: `${names[0] ?? '(any name)'}:${originalPort}`,
      names,
      patterns,
      // Set below: the first virtual host of its address answers a client that names no host.
      reachableWithoutName: true,
      port,
      listen: addresses,
      clientCertificates: { mode, located: locate('verify') },
      locate,
    };
  };
  if (mainSsl) {
    const claimed = new Set([...vhostPorts.values()].flatMap((v) => v.ports));
    // The main server answers what no virtual host's address takes.
    const listen = activeListens.find((l) => !claimed.has(l.port));
    if (listen) endpoints.push(makeEndpoint(null, listen.d, serverLevel, listen.port, listen.at.port, listen.d.args.join(' ')));
  }
  for (const v of vhosts) {
    const ownScope = scopeOf(v);
    const on = sslOn(ownScope) ?? mainSsl;
    if (!on) continue;
    const where = vhostPorts.get(v)!;
    if (!where.ports.length) broken(v, `<VirtualHost ${v.args.join(' ')}>: no Listen reaches it (add Listen ${where.original === '*' ? '443' : where.original}), so it never answers`);
    endpoints.push(makeEndpoint(v, v, ownScope, where.ports[0]!, where.original, v.args.join(' ')));
  }
  // A client that names no host gets the first virtual host of the address it reached.
  endpoints.splice(0, endpoints.length, ...endpoints.map((e, i) => ({ ...e, reachableWithoutName: endpoints.findIndex((x) => x.port === e.port) === i })));
  if (!endpoints.length) {
    broken(vhosts[0] ?? { file, line: 1 }, `no TLS endpoint: no <VirtualHost> with SSLEngine on${vhosts.length ? '' : ' (no <VirtualHost> at all)'}; the gate checks TLS endpoints`);
  }

  // The main file apache2 runs: the user's own copy, or one that loads Debian's modules around a site file.
  const pidFile = own('httpd.pid');
  let main = sandbox.copyOf(file);
  let serverRoot = state.serverRoot;
  const defaults = [`PidFile ${quote(pidFile)}`, `ErrorLog ${quote(logFile)}`, `Mutex file:${sandbox.directory} default`, `DefaultRuntimeDir ${quote(sandbox.directory)}`, 'User nobody', 'Group nogroup'];
  const extra = extraListens.map((x) => `Listen 127.0.0.1:${x.port}`);
  for (const x of extraListens) changes.push({ where: x.where, from: '(no Listen of its own)', to: `Listen 127.0.0.1:${x.port}`, why: x.why });
  const before: string[] = [];
  const after: string[] = [];
  if (loadsModules) {
    before.push(...defaults);
    after.push(...extra);
    changes.push({ where: shortPath(file), from: "(Apache's defaults: PidFile, ErrorLog, Mutex, DefaultRuntimeDir, User)", to: `apache2 -C ... (in the sandbox)`, why: "the program's built-in defaults would write outside the sandbox" });
  } else {
    main = own('httpd.conf');
    serverRoot = sandbox.directory;
    const wrapper = [
      `# Written by the TLS conformance gate: Debian's modules, then the site file ${shortPath(file)} as it is.`,
      `ServerRoot ${quote(sandbox.directory)}`,
      ...wrapperModules.map((m) => `LoadModule ${m}_module ${quote(join(MODULES, `mod_${m}.so`))}`),
      ...defaults,
      // Quiets apache2's guess at this machine's name; the site file's own ServerName comes after it.
      'ServerName localhost',
      ...(existsSync('/etc/mime.types') && loaded.has('mime_module') ? ['TypesConfig /etc/mime.types'] : []),
      `SSLSessionCache ${quote(`shmcb:${own('ssl_scache')}(512000)`)}`,
      'LogFormat "%h %l %u %t \\"%r\\" %>s %O" common',
      `CustomLog ${quote(accessFile)} common`,
      ...extra,
      `Include ${quote(sandbox.copyOf(file))}`,
    ];
    writeFileSync(main, `${wrapper.join('\n')}\n`);
    changes.push({ where: shortPath(file), from: '(a site file: it loads no modules)', to: `a main file that loads Debian's modules and includes it`, why: `Debian's modules loaded: ${wrapperModules.join(', ')}` });
  }
  sandbox.write();
  // The one process serves as nobody after it starts: it must reach the sandbox.
  chmodSync(sandbox.directory, 0o755);
  const flag = (f: string, lines: string[]): string[] => lines.flatMap((l) => [f, l]);
  const common = ['-d', serverRoot, '-f', main, ...flag('-C', before), ...flag('-c', after)];
  const awaited = [...new Set([...activeListens.map((l) => l.port), ...extraListens.map((x) => x.port), ...endpoints.map((e) => e.port)])];
  return {
    implementation: 'apache',
    file,
    files: sandbox.files,
    endpoints,
    changes,
    directory: sandbox.directory,
    command: APACHE,
    testArgs: ['-t', ...common],
    runArgs: ['-X', ...common],
    env,
    ports: awaited,
    pidFile,
    named: sandbox.named,
    translate: (text) => placeFiles(apacheWords(sandbox.translate(`${errorLogTail(logFile)}\n${text}`)), sandbox.named),
  };
}

function versionMatches(args: readonly string[], version: string): boolean {
  const [op, wanted] = args.length >= 2 ? [args[0]!, args[1]!] : ['=', args[0] ?? ''];
  if (op === '~' || /^\/.*\/$/.test(wanted)) {
    try {
      return new RegExp(wanted.replace(/^\/|\/$/g, '')).test(version);
    } catch {
      return true;
    }
  }
  const c = compareVersions(version, wanted);
  switch (op) {
    case '=':
    case '==':
      return version === wanted || version.startsWith(`${wanted}.`);
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '!=':
      return c !== 0;
    default:
      return true;
  }
}

/** The end of the sandbox's error log: where apache2 says why it stopped once it had opened its logs (its output then says nothing). */
function errorLogTail(path: string): string {
  const text = safeRead(path);
  return text.slice(-16_384);
}

/** A TLS file apache2 names at start (a key that does not match, a CA it cannot read): where the file sets it. */
function placeFiles(text: string, named: ReadonlyMap<string, string>): string {
  return text
    .split('\n')
    .map((line) => {
      if (/on line \d+ of /.test(line)) return line;
      let out = line;
      for (const [path, place] of named) if (path && out.includes(path)) out = out.split(path).join(`${path} (set at ${place})`);
      return out;
    })
    .join('\n');
}

/**
 * apache2's words made one complaint a line: a syntax error's two lines
 * joined (of nested includes, the innermost file kept), and its error log's
 * `[time] [module:level] [pid]` prefix made `[level]`.
 */
export function apacheWords(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (/Syntax error on line \d+ of .*:\s*$/.test(line) && i + 1 < lines.length) line = `${line.trimEnd()} ${lines[++i]!.trim()}`;
    const last = line.lastIndexOf('Syntax error on line ');
    if (last >= 0) {
      const m = /^Syntax error on line (\d+) of (.+?):(?: (.*))?$/.exec(line.slice(last));
      if (m) {
        const code = /^(AH\d+: )/.exec(line)?.[1] ?? '';
        const reason = (m[3] ?? '').replace(/^\S+:\d+: /, '');
        line = `${code}Syntax error on line ${m[1]} of ${m[2]}: ${reason}`.trimEnd();
      }
    }
    out.push(line.replace(/^\[[^\]]*\] \[(?:[a-z_0-9]+:)?([a-z0-9]+)\](?: \[pid [^\]]*\])?(?: \[client [^\]]*\])? ?/i, '[$1] '));
  }
  return out.join('\n');
}
