import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CATALOG } from '../support/pki/catalog';
import { ensurePki, staleness, type Pki } from '../support/pki/store';

const DAY = 24 * 60 * 60 * 1000;

describe('PKI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pki-test-'));
  let pki: Pki & { rebuilt: boolean };
  const cert = (name: string): X509Certificate => new X509Certificate(readFileSync(pki.profiles[name]!.cert));

  before(async () => {
    pki = await ensurePki({ dir });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds every profile of the catalog, named by what it is', () => {
    assert.equal(pki.rebuilt, true);
    assert.deepEqual(Object.keys(pki.profiles).sort(), CATALOG.map((p) => p.name).sort());
    for (const name of Object.keys(pki.profiles)) assert.doesNotMatch(name, /^cert\d|\d$/);
  });

  it('writes private keys with mode 0600 and certificates readable', () => {
    for (const files of Object.values(pki.profiles)) {
      assert.equal(statSync(files.key).mode & 0o777, 0o600, files.key);
      assert.equal(statSync(files.cert).mode & 0o777, 0o644, files.cert);
      // HAProxy's one-file form holds the key too.
      if (files.role === 'server') assert.equal(statSync(files.combined!).mode & 0o777, 0o600, files.combined);
    }
  });

  it('signs each certificate with its issuer, and roots and self-signed leaves with their own key', () => {
    for (const profile of CATALOG) {
      const issuer = cert(profile.issuer ?? profile.name);
      assert.ok(cert(profile.name).verify(issuer.publicKey), `${profile.name} is signed by ${profile.issuer ?? 'itself'}`);
      // A self-signed leaf has no keyCertSign usage, so OpenSSL does not call it its own issuer: only check issued ones.
      if (profile.issuer) assert.ok(cert(profile.name).checkIssued(issuer), `${profile.name} names ${profile.issuer} as issuer`);
    }
  });

  it('gives the localhost leaf DNS and IP subjectAltNames, and server and client leaves their key usages', () => {
    const localhost = cert('localhost');
    assert.match(localhost.subjectAltName ?? '', /DNS:localhost/);
    assert.match(localhost.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(localhost.checkHost('localhost'), 'localhost');
    assert.equal(localhost.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert('wrong.host').checkHost('localhost'), undefined);
    assert.ok(cert('localhost').keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth');
    assert.ok(cert('client').keyUsage?.includes('1.3.6.1.5.5.7.3.2'), 'clientAuth');
    assert.ok(cert('server-ca').ca && !cert('localhost').ca);
  });

  it('sets validity relative to now: expired ones in the past, not-yet-valid in the future, the rest current', () => {
    const now = Date.now();
    for (const name of ['expired', 'client-expired']) assert.ok(Date.parse(cert(name).validTo) < now, name);
    assert.ok(Date.parse(cert('not-yet-valid').validFrom) > now);
    for (const name of ['localhost', 'client', 'server-ca']) {
      assert.ok(Date.parse(cert(name).validFrom) < now && Date.parse(cert(name).validTo) > now, name);
    }
  });

  it('writes full and incomplete chains, an ECDSA leaf, an encrypted key, and a key that does not match for mismatched-key', () => {
    assert.equal(readFileSync(pki.profiles['full-chain']!.cert, 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.equal(readFileSync(pki.profiles['incomplete-chain']!.cert, 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 1);
    const ecdsa = cert('localhost-ecdsa');
    assert.equal(ecdsa.publicKey.asymmetricKeyType, 'ec');
    assert.equal(ecdsa.checkPrivateKey(createPrivateKey(readFileSync(pki.profiles['localhost-ecdsa']!.key))), true);
    assert.match(readFileSync(pki.profiles['encrypted-key']!.key, 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
    assert.equal(cert('encrypted-key').checkPrivateKey(createPrivateKey({ key: readFileSync(pki.profiles['encrypted-key']!.key), passphrase: 'conformance' })), true);
    assert.equal(cert('cn-only').subjectAltName, undefined);
    assert.equal(cert('mismatched-key').checkPrivateKey(createPrivateKey(readFileSync(pki.profiles['mismatched-key']!.key))), false);
    assert.equal(cert('localhost').checkPrivateKey(createPrivateKey(readFileSync(pki.profiles['localhost']!.key))), true);
    assert.equal(createPublicKey(readFileSync(pki.profiles['localhost']!.key)).asymmetricKeyDetails?.modulusLength, 2048);
  });

  it('is listed, profile by profile, in certs/README.md', () => {
    const readme = readFileSync(join(__dirname, '..', 'certs', 'README.md'), 'utf8');
    for (const profile of CATALOG) assert.ok(readme.includes(`| \`${profile.name}\` | ${profile.role === 'ca' ? 'CA' : profile.role} | ${profile.description} |`), profile.name);
  });

  it('is reused while the catalog is unchanged and no certificate nears its end', async () => {
    const again = await ensurePki({ dir });
    assert.equal(again.rebuilt, false);
    assert.equal(again.builtAt, pki.builtAt);
  });

  it('is rebuilt when the catalog changes, a file is missing, or a certificate nears the end of its validity', async () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(staleness(manifest, new Date()), null);
    assert.match(staleness(manifest, new Date(), [...CATALOG.slice(1)]) ?? '', /catalog changed/);
    // not-yet-valid becomes valid in 30 days: 24 days from now it must be rebuilt.
    assert.match(staleness(manifest, new Date(Date.now() + 24 * DAY)) ?? '', /near the end/);
    assert.equal(staleness(manifest, new Date(Date.now() + 22 * DAY)), null);
    const rebuilt = await ensurePki({ dir, now: new Date(Date.now() + 24 * DAY) });
    assert.equal(rebuilt.rebuilt, true);
    rmSync(rebuilt.profiles['client']!.key);
    assert.match(staleness(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')), new Date(Date.now() + 24 * DAY)) ?? '', /missing/);
  });
});
