/**
 * The PKI on disk: built once into `certs/`, then reused.
 *
 * `ensurePki()` reads `certs/manifest.json`; it rebuilds everything only when
 * the catalog changed (its hash differs), a file is missing, or a certificate
 * that should be valid is about to stop being so. Keys are written 0600.
 * Concurrent runs (a test suite next to a conformance run) take a lock file so
 * that one builds and the others read what it built.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CATALOG, type Profile } from './catalog';
import type forge from 'node-forge';
import { certificateToPem, generateEcKey, generateKey, issueCertificate, issueEcCertificate, privateKeyToPem, type EcKey, type Issuer, type KeyPair } from './issue';

/** Bump when the way certificates are made changes, so caches are rebuilt. */
const GENERATOR_VERSION = 3;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Rebuild when a certificate that must be valid has fewer days left than this. */
const RENEW_BEFORE_END_DAYS = 30;
/** Rebuild when a not-yet-valid certificate is this close to becoming valid. */
const RENEW_BEFORE_START_DAYS = 7;
const LOCK_STALE_MS = 60_000;

export interface ProfileFiles {
  readonly name: string;
  readonly role: Profile['role'];
  /** Absolute path of the certificate (leaf only). */
  readonly cert: string;
  /** Absolute path of the private key (mode 0600). */
  readonly key: string;
  /** Leaf followed by its intermediate, for profiles issued by an intermediate. */
  readonly chain?: string;
  /** For a server: certificate, intermediates and key in one file (mode 0600), as HAProxy's `crt` takes it. */
  readonly combined?: string;
  readonly keyType: 'rsa' | 'ec';
  readonly subject: string;
  readonly issuer: string;
  readonly hosts: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
}

export interface Pki {
  readonly dir: string;
  readonly builtAt: string;
  readonly staleAfter: string;
  readonly profiles: Readonly<Record<string, ProfileFiles>>;
}

interface Manifest extends Pki {
  readonly catalogHash: string;
}

/**
 * The package root (where package.json, features/ and certs/ are): two levels up from support/pki/
 * under ts-node, three from dist/support/pki/ when running compiled (the installed command).
 */
export const PROJECT_ROOT = projectRoot(resolve(__dirname, '..', '..'));

function projectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

export function defaultCertsDir(): string {
  return process.env.TLS_CONFORMANCE_CERTS ? resolve(process.env.TLS_CONFORMANCE_CERTS) : join(PROJECT_ROOT, 'certs');
}

export function catalogHash(catalog: readonly Profile[] = CATALOG): string {
  return createHash('sha256').update(JSON.stringify({ GENERATOR_VERSION, catalog })).digest('hex');
}

/** Why the cached PKI cannot be used, or null when it can. */
export function staleness(manifest: Manifest | null, now: Date, catalog: readonly Profile[] = CATALOG): string | null {
  if (!manifest) return 'no PKI built yet';
  if (manifest.catalogHash !== catalogHash(catalog)) return 'the certificate catalog changed';
  if (now.getTime() >= Date.parse(manifest.staleAfter)) return 'a certificate is near the end of its intended validity';
  for (const files of Object.values(manifest.profiles)) {
    for (const path of [files.cert, files.key, files.chain]) {
      if (path && !existsSync(path)) return `${path} is missing`;
    }
  }
  return null;
}

function readManifest(dir: string): Manifest | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

/** The moment the catalog built at `now` stops being what it says it is. */
function staleAfter(catalog: readonly Profile[], now: Date): Date {
  let limit = Infinity;
  for (const { validity } of catalog) {
    if (validity.toDays > 0) limit = Math.min(limit, validity.toDays - RENEW_BEFORE_END_DAYS);
    if (validity.fromDays > 0) limit = Math.min(limit, validity.fromDays - RENEW_BEFORE_START_DAYS);
  }
  return new Date(now.getTime() + limit * DAY_MS);
}

function writeAtomically(path: string, data: string, mode: number): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { mode });
  renameSync(temporary, path);
}

function subjectText(attributes: { shortName?: string; value?: unknown }[]): string {
  return attributes.map((a) => `${a.shortName}=${String(a.value)}`).join(', ');
}

async function build(dir: string, catalog: readonly Profile[], now: Date): Promise<Manifest> {
  mkdirSync(dir, { recursive: true });
  // All keys at once: native generation runs on libuv's thread pool, so both cores work.
  const names = catalog.filter((p) => p.keyType !== 'ec').map((p) => p.name);
  const [generated, ecGenerated] = await Promise.all([
    Promise.all(names.map(async (name) => [name, await generateKey()] as const)),
    Promise.all(catalog.filter((p) => p.keyType === 'ec').map(async (p) => [p.name, await generateEcKey()] as const)),
  ]);
  const keys = new Map<string, KeyPair>(generated);
  const ecKeys = new Map<string, EcKey>(ecGenerated);

  const issued = new Map<string, Issuer>();
  const profiles: Record<string, ProfileFiles> = {};
  const pending = [...catalog];
  while (pending.length > 0) {
    const index = pending.findIndex((p) => p.issuer === null || issued.has(p.issuer));
    if (index < 0) throw new Error(`certificate catalog: issuer of ${pending.map((p) => p.name).join(', ')} is not in the catalog`);
    const [profile] = pending.splice(index, 1) as [Profile];
    const issuer = profile.issuer === null ? null : issued.get(profile.issuer)!;
    const certPath = join(dir, `${profile.name}.cert.pem`);
    const keyPath = join(dir, `${profile.name}.key.pem`);
    let certificate: forge.pki.Certificate;
    let certPem: string;
    if (profile.keyType === 'ec') {
      if (!issuer) throw new Error(`certificate catalog: the EC profile ${profile.name} needs an RSA issuer`);
      const ecKey = ecKeys.get(profile.name)!;
      ({ certificate, pem: certPem } = issueEcCertificate(profile, ecKey, issuer, now));
      writeAtomically(keyPath, ecKey.privateKeyPem, 0o600);
    } else {
      const profileKeys = keys.get(profile.name)!;
      certificate = issueCertificate(profile, profileKeys, issuer, now);
      certPem = certificateToPem(certificate);
      issued.set(profile.name, { certificate, keys: profileKeys });
      // A key that belongs to another certificate: unrelated-ca's will do (any key but its own).
      const keyFileKeys = profile.mismatchedKey ? keys.get('unrelated-ca')! : profileKeys;
      writeAtomically(keyPath, privateKeyToPem(keyFileKeys, profile.passphrase), 0o600);
    }
    // The intermediates between the leaf and its root, leaf first: what a server must send.
    const intermediates: string[] = [];
    for (let up = profile.issuer; up; up = catalog.find((p) => p.name === up)?.issuer ?? null) {
      if (catalog.find((p) => p.name === up)?.issuer) intermediates.push(certificateToPem(issued.get(up)!.certificate));
    }
    writeAtomically(certPath, profile.fullChain ? certPem + intermediates.join('') : certPem, 0o644);
    let chain: string | undefined;
    if (intermediates.length && profile.role !== 'ca') {
      chain = join(dir, `${profile.name}.chain.pem`);
      writeAtomically(chain, certPem + intermediates.join(''), 0o644);
    }
    let combined: string | undefined;
    if (profile.role === 'server') {
      combined = join(dir, `${profile.name}.pem`);
      writeAtomically(combined, certPem + intermediates.join('') + readFileSync(keyPath, 'utf8'), 0o600);
    }
    profiles[profile.name] = {
      name: profile.name,
      role: profile.role,
      cert: certPath,
      key: keyPath,
      ...(chain ? { chain } : {}),
      ...(combined ? { combined } : {}),
      keyType: profile.keyType ?? 'rsa',
      subject: subjectText(certificate.subject.attributes),
      issuer: subjectText(certificate.issuer.attributes),
      hosts: profile.hosts,
      notBefore: certificate.validity.notBefore.toISOString(),
      notAfter: certificate.validity.notAfter.toISOString(),
    };
  }
  const manifest: Manifest = {
    dir,
    builtAt: now.toISOString(),
    staleAfter: staleAfter(catalog, now).toISOString(),
    catalogHash: catalogHash(catalog),
    profiles,
  };
  writeAtomically(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', 0o644);
  return manifest;
}

async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '.lock');
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
      } catch {
        /* removed by its owner meanwhile */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

export interface EnsureOptions {
  readonly dir?: string;
  readonly now?: Date;
  readonly catalog?: readonly Profile[];
}

/** The PKI, built if the cache cannot be used. `rebuilt` says whether this call built it. */
export async function ensurePki(options: EnsureOptions = {}): Promise<Pki & { rebuilt: boolean }> {
  const dir = options.dir ?? defaultCertsDir();
  const now = options.now ?? new Date();
  const catalog = options.catalog ?? CATALOG;
  const cached = readManifest(dir);
  if (staleness(cached, now, catalog) === null && cached!.dir === dir) return { ...cached!, rebuilt: false };
  return withLock(dir, async () => {
    const again = readManifest(dir); // another process may have built it while we waited
    if (staleness(again, now, catalog) === null && again!.dir === dir) return { ...again!, rebuilt: false };
    return { ...(await build(dir, catalog, now)), rebuilt: true };
  });
}
