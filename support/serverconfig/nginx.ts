/**
 * nginx's own configuration file, run unchanged but for the sandbox: parsed
 * with its includes (every directive keeps its file and line), each
 * `server` block with `listen … ssl` an endpoint, and line-preserving edits
 * for listen addresses, pid, logs, user, backends and stapling fetches.
 */
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { shortPath } from '../errors';
import { at, broken, expandGlob, readConfigText, resolveConfigPath, resolveTlsFile, inSandbox, Sandbox, type PathMap, type BackendStub } from './sandbox';
import { endpointNames } from './names';
import type { Directive, Endpoint, Knob, Located, PreparedConfig } from './types';

interface Token {
  readonly value: string;
  readonly kind: 'word' | '{' | '}' | ';';
  readonly start: number;
  readonly end: number;
  readonly line: number;
}

function tokenize(file: string, text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ value: c, kind: c, start: i, end: i + 1, line });
      i++;
    } else if (c === '"' || c === "'") {
      const start = i;
      const startLine = line;
      let value = '';
      i++;
      while (i < n && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < n) {
          value += text[i + 1] === c || text[i + 1] === '\\' ? text[i + 1] : text[i]! + text[i + 1]!;
          i += 2;
          continue;
        }
        if (text[i] === '\n') line++;
        value += text[i];
        i++;
      }
      if (i >= n) broken({ file, line: startLine }, `unterminated ${c === '"' ? 'double' : 'single'} quote`);
      i++;
      tokens.push({ value, kind: 'word', start, end: i, line: startLine });
    } else {
      const start = i;
      // A word ends at white space, ; or {, and at } unless it is inside ${...}.
      let value = '';
      while (i < n && !/[\s;{}]/.test(text[i]!)) {
        if (text[i] === '$' && text[i + 1] === '{') {
          const close = text.indexOf('}', i);
          if (close < 0) break;
          value += text.slice(i, close + 1);
          i = close + 1;
          continue;
        }
        value += text[i];
        i++;
      }
      tokens.push({ value, kind: 'word', start, end: i, line });
    }
  }
  return tokens;
}

interface Context {
  readonly sandbox: Sandbox;
  readonly paths: PathMap;
  /** nginx resolves include and ssl_* paths relative to the main file's directory. */
  readonly confDir: string;
  readonly depth: number;
}

function parseFile(file: string, text: string, context: Context): Directive[] {
  context.sandbox.add(file, text);
  const tokens = tokenize(file, text);
  let index = 0;
  const block = (closing: Token | null): Directive[] => {
    const out: Directive[] = [];
    let words: Token[] = [];
    while (index < tokens.length) {
      const token = tokens[index++]!;
      if (token.kind === 'word') {
        words.push(token);
        continue;
      }
      if (token.kind === '}') {
        if (words.length) broken({ file, line: words[0]!.line }, `"${words[0]!.value}" is not terminated by ";"`);
        if (!closing) broken({ file, line: token.line }, 'unexpected "}"');
        return out;
      }
      if (!words.length) broken({ file, line: token.line }, `unexpected "${token.value}"`);
      const [name, ...args] = words;
      const base = { name: name!.value, args: args.map((a) => a.value), file, line: name!.line, start: name!.start, argSpans: args.map((a) => [a.start, a.end] as const) };
      if (token.kind === '{') {
        const children = block(token);
        out.push({ ...base, end: tokens[index - 1]!.end, children });
      } else {
        const directive: Directive = { ...base, end: token.end };
        out.push(directive.name === 'include' ? include(directive) : directive);
      }
      words = [];
    }
    if (words.length) broken({ file, line: words[0]!.line }, `unexpected end of file, expecting ";" or "}"`);
    if (closing) broken({ file, line: closing.line }, 'unexpected end of file, expecting "}"');
    return out;
  };
  const include = (d: Directive): Directive => {
    if (d.args.length !== 1) broken(d, 'include takes one file or pattern');
    if (context.depth > 20) broken(d, 'includes nested more than 20 deep');
    const resolved = resolveConfigPath(d.args[0]!, context.confDir, context.paths, d, 'include');
    if (resolved.change) context.sandbox.changes.push(resolved.change);
    // This machine's own package files (mime.types, snippets) are read from here, and copied like the user's: their listens are sandboxed too.
    const matches = expandGlob(resolved.local);
    if (!matches.length && !/[*?[]/.test(resolved.local)) broken(d, `include ${d.args[0]}: no such file${resolved.local !== d.args[0] ? ` (looked for ${shortPath(resolved.local)})` : ''}`);
    const included: Directive[] = [];
    for (const match of matches) {
      included.push(...parseFile(match, readConfigText(match, d), { ...context, depth: context.depth + 1 }));
    }
    const [s, e] = d.argSpans[0]!;
    context.sandbox.edit(d, s, e, JSON.stringify(context.sandbox.copyOf(resolved.local)));
    return { ...d, included };
  };
  return block(null);
}

/** A block's own directives, with includes opened in place. */
export function flat(list: readonly Directive[]): Directive[] {
  return list.flatMap((d) => (d.included ? flat(d.included) : [d]));
}

export interface NginxOptions {
  readonly paths: PathMap;
  /** Concrete names for the file's wildcard and regular-expression server_names. */
  readonly hostnames: readonly string[];
  readonly stub: BackendStub;
}

/** Where each knob lives in nginx, and its default when the file does not set it. */
const KNOBS: Record<Exclude<Knob, 'program'>, { name: string; sub?: string; missing: string }> = {
  versions: { name: 'ssl_protocols', missing: "nginx's default applies: TLSv1 TLSv1.1 TLSv1.2 in nginx 1.22 (TLS 1.3 only from 1.23.4)" },
  ciphers: { name: 'ssl_ciphers', missing: "nginx's default applies: HIGH:!aNULL:!MD5" },
  tls13: { name: 'ssl_conf_command', sub: 'Ciphersuites', missing: "OpenSSL's default TLS 1.3 suites apply" },
  groups: { name: 'ssl_ecdh_curve', missing: "nginx's default applies: auto (OpenSSL's default groups)" },
  order: { name: 'ssl_prefer_server_ciphers', missing: "nginx's default applies: off" },
  cert: { name: 'ssl_certificate', missing: 'no certificate' },
  key: { name: 'ssl_certificate_key', missing: 'no key' },
  ca: { name: 'ssl_client_certificate', missing: 'no CA for client certificates' },
  verify: { name: 'ssl_verify_client', missing: "nginx's default applies: off (no client certificate asked for)" },
  names: { name: 'server_name', missing: 'no server_name: a catch-all' },
  hsts: { name: 'add_header', sub: 'Strict-Transport-Security', missing: 'no Strict-Transport-Security header is added' },
  ocsp: { name: 'ssl_stapling', missing: "nginx's default applies: off" },
  dhparam: { name: 'ssl_dhparam', missing: 'no DH parameters' },
};

const TLS_FILES = new Set(['ssl_certificate', 'ssl_certificate_key', 'ssl_client_certificate', 'ssl_trusted_certificate', 'ssl_dhparam', 'ssl_crl', 'ssl_password_file', 'ssl_stapling_file', 'ssl_session_ticket_key', 'ssl_ecdh_curve_file']);
const PROXIES = new Set(['proxy_pass', 'grpc_pass', 'uwsgi_pass', 'scgi_pass', 'fastcgi_pass', 'memcached_pass']);

/** `listen` → address, port and whether it is TLS. */
function parseListen(d: Directive): { key: string; port: string; ssl: boolean; unix: boolean } {
  const target = d.args[0];
  if (!target) return broken(d, 'listen needs an address or port');
  const ssl = d.args.slice(1).includes('ssl');
  if (target.startsWith('unix:')) return { key: target, port: target, ssl, unix: true };
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):)?(\d+)$/.exec(target) ?? /^()()([^:]+)$/.exec(target);
  if (!m) return broken(d, `listen ${target}: not an address nginx reads`);
  const port = m[2] ?? '80';
  const host = m[1] ?? (/^\d+$/.test(target) ? '*' : target);
  return { key: `${host}:${/^\d+$/.test(port) ? port : '80'}`, port: /^\d+$/.test(port) ? port : '80', ssl, unix: false };
}

export function prepareNginx(file: string, options: NginxOptions): Promise<PreparedConfig> {
  return inSandbox((sandbox) => prepare(file, options, sandbox));
}

async function prepare(file: string, options: NginxOptions, sandbox: Sandbox): Promise<PreparedConfig> {
  const confDir = dirname(file);
  const top = parseFile(file, readConfigText(file), { sandbox, paths: options.paths, confDir, depth: 0 });
  const topFlat = flat(top);
  // A whole nginx.conf has an http block; a site file (sites-available/...) is only server blocks: the sandbox wraps it.
  const whole = topFlat.some((d) => d.name === 'http' || d.name === 'events');
  const http = whole ? topFlat.find((d) => d.name === 'http') : undefined;
  const httpItems = whole ? flat(http?.children ?? []) : topFlat;
  const servers = httpItems.filter((d) => d.name === 'server' && d.children);
  if (!whole && topFlat.some((d) => d.name !== 'server' && d.name !== 'upstream' && d.name !== 'map' && !/^(ssl_|add_header|log_format|proxy_|server_tokens|keepalive|client_|limit_|geo$)/.test(d.name))) {
    const odd = topFlat.find((d) => d.name !== 'server' && d.name !== 'upstream');
    broken(odd!, `"${odd!.name}": a file without an http block is read as a site file (server blocks), which cannot hold it`);
  }
  const changes = sandbox.changes;
  const stubPort = await options.stub.start();
  const ownPid = sandbox.own('nginx.pid');
  const globalSets = new Set<string>();

  // Every directive of every block, edited where the sandbox needs it.
  const visit = async (list: readonly Directive[], inServer: boolean): Promise<void> => {
    for (const d of flat(list)) {
      if (d.children) {
        await visit(d.children, inServer || d.name === 'server');
        if (d.name === 'upstream') {
          for (const s of flat(d.children).filter((c) => c.name === 'server')) {
            const [a, b] = s.argSpans[0]!;
            sandbox.edit(s, a, b, `127.0.0.1:${stubPort}`, { from: s.args[0]!, to: `127.0.0.1:${stubPort}`, why: 'a backend: the gate answers for it, and never contacts the real one' });
          }
        }
        continue;
      }
      const replaceArgs = (text: string, why: string): void => {
        const first = d.argSpans[0];
        const last = d.argSpans[d.argSpans.length - 1];
        if (!first || !last) return;
        sandbox.edit(d, first[0], last[1], text, { from: `${d.name} ${d.args.join(' ')}`, to: `${d.name} ${text}`, why });
      };
      switch (d.name) {
        case 'listen': {
          const listen = parseListen(d);
          const kept = d.args.slice(1).filter((a) => !/^ipv6only=/.test(a));
          if (listen.unix) {
            replaceArgs([`unix:${sandbox.own(`socket-${sandbox.allPorts.length}`)}`, ...kept].join(' '), 'a unix socket, moved into the sandbox');
          } else {
            const port = await sandbox.port(listen.key);
            replaceArgs([`127.0.0.1:${port}`, ...kept].join(' '), 'the sandbox listens on loopback ports only');
          }
          break;
        }
        case 'pid':
          replaceArgs(JSON.stringify(ownPid), 'the sandbox keeps its own pid file');
          globalSets.add('pid');
          break;
        case 'error_log':
          replaceArgs([JSON.stringify(sandbox.own('error.log')), ...d.args.slice(1)].join(' '), 'logs stay in the sandbox');
          break;
        case 'access_log':
          if (d.args[0] !== 'off') replaceArgs([JSON.stringify(sandbox.own('access.log')), ...d.args.slice(1).filter((a) => !/^(buffer|flush|gzip|if)=/.test(a))].join(' '), 'logs stay in the sandbox');
          break;
        case 'user':
          sandbox.edit(d, d.start, d.end, `# ${d.name} (removed by the gate's sandbox)`, { from: `user ${d.args.join(' ')}`, to: '(removed)', why: 'the sandbox runs one process; no user switch' });
          break;
        case 'daemon':
        case 'master_process':
          replaceArgs('off', 'the sandbox runs nginx in the foreground, one process');
          globalSets.add(d.name);
          break;
        case 'ssl_stapling':
          if (d.args[0] === 'on' && !flat(list).some((x) => x.name === 'ssl_stapling_file')) {
            replaceArgs('off', 'fetching a staple would contact the OCSP responder named in the certificate, which the gate never does');
          }
          break;
        default:
          if (TLS_FILES.has(d.name) && d.args[0] && !/^(data:|engine:)/.test(d.args[0])) {
            const local = resolveTlsFile(d.args[0], confDir, options.paths, d, changes, sandbox.named);
            const [a, b] = d.argSpans[0]!;
            sandbox.edit(d, a, b, JSON.stringify(local));
          } else if (PROXIES.has(d.name) && d.args[0]) {
            const target = d.args[0];
            const m = /^(?:(https?|grpcs?):\/\/)?([^/]+)(\/.*)?$/.exec(target);
            if (m && !m[2]!.startsWith('unix:') && !m[2]!.startsWith('$')) {
              const scheme = m[1] ? (m[1].startsWith('grpc') ? 'grpc' : 'http') : '';
              // An upstream named here is already pointed at the stub.
              const upstream = httpItems.some((u) => u.name === 'upstream' && u.args[0] === m[2]);
              if (!upstream) {
                const text = `${scheme ? `${scheme}://` : ''}127.0.0.1:${stubPort}${m[3] ?? ''}`;
                const [a, b] = d.argSpans[0]!;
                sandbox.edit(d, a, b, text, { from: target, to: text, why: 'a backend: the gate answers for it, and never contacts the real one' });
              }
            }
          }
      }
    }
  };
  await visit(top, false);

  // The endpoints: server blocks with a TLS listen.
  const endpoints: Endpoint[] = [];
  const httpScope = flat(httpItems).filter((d) => !d.children);
  // The default server of each listen socket: the one that says default_server, else the first with that listen.
  const defaults = new Map<string, Directive>();
  for (const server of servers) {
    for (const d of flat(server.children!).filter((x) => x.name === 'listen')) {
      const key = parseListen(d).key;
      const marked = d.args.slice(1).some((a) => a === 'default_server' || a === 'default');
      if (marked || !defaults.has(key)) defaults.set(key, marked ? server : (defaults.get(key) ?? server));
    }
  }
  for (const server of servers) {
    const own = flat(server.children!);
    const listens = own.filter((d) => d.name === 'listen');
    const sslOn = own.some((d) => d.name === 'ssl' && d.args[0] === 'on');
    const sslListen = listens.map((d) => ({ d, l: parseListen(d) })).find(({ d, l }) => !l.unix && (l.ssl || sslOn) && d);
    if (!sslListen) continue;
    const port = await sandbox.port(sslListen.l.key);
    const find = (name: string, sub?: string): Directive | undefined => {
      const match = (d: Directive): boolean => d.name === name && (!sub || d.args[0]?.toLowerCase() === sub.toLowerCase());
      return own.find(match) ?? httpScope.find(match);
    };
    const serverNames = own.filter((d) => d.name === 'server_name').flatMap((d) => d.args).filter((n) => n !== '' && n !== '_' && !/^\$/.test(n));
    const { names, patterns } = endpointNames(serverNames, options.hostnames);
    const locate = (knob: Knob): Located => {
      if (knob === 'program') return { directive: 'nginx (and the OpenSSL it is built with)', where: at(server) };
      const k = KNOBS[knob];
      const display = k.sub ? `${k.name} ${k.sub}` : k.name;
      let d = find(k.name, k.sub);
      if (!d && knob === 'groups') d = find('ssl_conf_command', 'Groups') ?? find('ssl_conf_command', 'Curves');
      if (d) return { directive: display, where: at(d) };
      return { directive: display, where: at(server), missing: k.missing };
    };
    const verify = find('ssl_verify_client');
    const mode = verify?.args[0] === 'on' ? 'require' : verify && /^optional/.test(verify.args[0] ?? '') ? 'optional' : 'none';
    const first = names[0] ?? '(any name)';
    endpoints.push({
      label: `server block at ${at(server)} (listen ${sslListen.d.args.join(' ')}${serverNames.length ? `; server_name ${serverNames.join(' ')}` : ''})`,
      id: `${first}:${sslListen.l.port}`,
      names,
      patterns,
      reachableWithoutName: defaults.get(sslListen.l.key) === server,
      port,
      listen: sslListen.d.args.join(' '),
      clientCertificates: { mode, located: locate('verify') },
      locate,
    });
  }
  if (!endpoints.length) {
    broken(servers[0] ?? { file, line: 1 }, `no TLS endpoint: no server block has a "listen … ssl"${servers.length ? '' : ' (no server block at all)'}; the gate checks TLS endpoints`);
  }

  // The main file the program runs: the user's own copy, or a wrapper around a site file.
  const sets = [globalSets.has('daemon') ? '' : 'daemon off;', globalSets.has('master_process') ? '' : 'master_process off;', globalSets.has('pid') ? '' : `pid ${JSON.stringify(ownPid)};`].join(' ').trim();
  let main = sandbox.copyOf(file);
  if (!whole) {
    main = sandbox.own('nginx.conf');
    writeFileSync(main, `events { worker_connections 256; }\nhttp {\n  access_log ${JSON.stringify(sandbox.own('access.log'))};\n  include ${JSON.stringify(sandbox.copyOf(file))};\n}\n`);
    changes.push({ where: shortPath(file), from: '(a site file: server blocks only)', to: 'events { } http { include <the file>; }', why: 'nginx runs a whole configuration; the site file is included as it is' });
  }
  sandbox.write();
  const prefix = sandbox.directory;
  const common = ['-p', `${prefix}/`, '-c', main, '-e', sandbox.own('error.log')];
  return {
    implementation: 'nginx',
    file,
    files: sandbox.files,
    endpoints,
    changes,
    directory: sandbox.directory,
    command: 'nginx',
    testArgs: ['-t', '-q', ...common, ...(sets ? ['-g', sets] : [])],
    runArgs: [...common, ...(sets ? ['-g', sets] : [])],
    ports: sandbox.allPorts,
    pidFile: ownPid,
    named: sandbox.named,
    translate: (text) => sandbox.translate(text),
  };
}
