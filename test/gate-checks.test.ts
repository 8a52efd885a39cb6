/**
 * The gate's parts on their own: policies as data (Mozilla's guideline
 * versions, custom files with optional fields), the one judge of "the server
 * refused", the field a refusal points at, the weak-suite table, the raw
 * ClientHello, and the verdict with inconclusive findings.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HarnessInputError } from '../support/errors';
import type { Deployment } from '../support/gate/deployment';
import { fieldForFailure, type Finding } from '../support/gate/gate';
import { clientHello } from '../support/gate/hello';
import { loadPolicy, MOZILLA_VERSIONS } from '../support/gate/policy';
import { MEASURED_CHECKS, weakness } from '../support/gate/probes';
import type { ScannedVersion, ServerScan } from '../support/gate/scan';
import { verdictOf } from '../support/gate/report';
import { classify } from '../support/outcome/classify';
import { judgeRefusal, serverRefused } from '../support/outcome/judge';
import { client, server } from './helpers';

const scratch = mkdtempSync(join(tmpdir(), 'gate-checks-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const CERTS = join(__dirname, '..', 'certs');

describe('policies as data', () => {
  it('mozilla-intermediate is the newest guideline; @5.7 pins the older one, which still allows DHE suites', () => {
    const newest = loadPolicy('mozilla-intermediate');
    assert.equal(newest.name, `mozilla-intermediate@${MOZILLA_VERSIONS[MOZILLA_VERSIONS.length - 1]}`);
    assert.ok(!newest.tls12Ciphers!.some((s) => s.startsWith('DHE-')));
    const pinned = loadPolicy('mozilla-intermediate@5.7');
    assert.equal(pinned.name, 'mozilla-intermediate@5.7');
    assert.ok(pinned.tls12Ciphers!.includes('DHE-RSA-AES128-GCM-SHA256'));
    assert.deepEqual(pinned.versions, ['TLSv1_2', 'TLSv1_3']);
    assert.deepEqual(pinned.groups, ['X25519', 'prime256v1', 'secp384r1']);
    assert.equal(pinned.minDhBits, 2048);
    assert.equal(pinned.serverPreferredOrder, false);
    assert.equal(pinned.hstsMinAge, 63072000);
    assert.deepEqual(pinned.certificate?.keyTypes, ['ec', 'rsa']);
  });

  it('mozilla-old comes from the newest guideline that still has it; an unknown version is broken input', () => {
    assert.equal(loadPolicy('mozilla-old').name, 'mozilla-old@5.7');
    assert.equal(loadPolicy('mozilla-old').serverPreferredOrder, true);
    assert.throws(() => loadPolicy('mozilla-old@6.0'), (e: Error) => e instanceof HarnessInputError && /has no "old" configuration/.test(e.message));
    assert.throws(() => loadPolicy('mozilla-modern@4.2'), (e: Error) => e instanceof HarnessInputError && /4\.2 is not built in \(built in: 5\.7, 6\.0\)/.test(e.message));
  });

  it('a custom policy needs only its name; absent fields stay absent; unknown fields are broken input with their line', () => {
    const minimal = join(scratch, 'minimal.yaml');
    writeFileSync(minimal, 'name: just-versions\nversions: [TLSv1_3]\n');
    const policy = loadPolicy(minimal);
    assert.deepEqual(policy.versions, ['TLSv1_3']);
    assert.equal(policy.tls12Ciphers, undefined);
    assert.equal(policy.certificate, undefined);
    const typo = join(scratch, 'typo.yaml');
    writeFileSync(typo, 'name: p\ngroup: [X25519]\n');
    assert.throws(() => loadPolicy(typo), (e: Error) => /typo\.yaml:2: group: unknown field/.test(e.message));
    const flag = join(scratch, 'flag.yaml');
    writeFileSync(flag, 'name: p\nocsp_staple: maybe\n');
    assert.throws(() => loadPolicy(flag), (e: Error) => /flag\.yaml:2: ocsp_staple: must be true or false/.test(e.message));
  });
});

describe('the one judge of "the server refused the client"', () => {
  const refused = classify(client({ socketError: { code: 'EPROTO', message: 'sslv3 alert handshake failure:SSL alert number 40' } }), server({ rejection: { message: 'peer did not return a certificate' } }), 1);
  const connected = classify(client({ handshakeCompleted: true, response: { status: 200, body: 'ok' } }), server({ requests: [{ method: 'GET', path: '/', status: 200 }] }), 1);
  const clientGaveUp = classify(client({ socketError: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames" } }), server({}), 1);
  const nginx400 = classify(client({ handshakeCompleted: true, response: { status: 400, body: 'The SSL certificate error' } }), server({}), 1);
  const reset = classify(client({ handshakeCompleted: true, requestError: { code: 'ECONNRESET', message: 'socket hang up' } }), server({ accepted: false }), 1);

  it('held when the server ended it (alert, HTTP 400, a reset its client did not cause); violated when it connected', () => {
    assert.equal(judgeRefusal(refused).status, 'held');
    assert.equal(judgeRefusal(nginx400).status, 'held');
    assert.equal(judgeRefusal(reset).status, 'held');
    assert.equal(judgeRefusal(connected).status, 'violated');
  });

  it("inconclusive when the probe's own client gave up first: nothing was learnt about the server", () => {
    const judged = judgeRefusal(clientGaveUp);
    assert.equal(judged.status, 'inconclusive');
    assert.ok(!serverRefused(clientGaveUp));
  });

  it('a refusal of a valid, presented client certificate points at server.ca_certs, however the server refused', () => {
    const deployment = { client: { implementation: 'axios', verify: '', cert: [join(CERTS, 'client.cert.pem'), join(CERTS, 'client.key.pem')] } } as unknown as Deployment;
    assert.equal(fieldForFailure(nginx400, deployment), 'server.ca_certs');
    assert.equal(fieldForFailure(reset, deployment), 'server.ca_certs');
    const expired = { client: { implementation: 'axios', verify: '', cert: [join(CERTS, 'client-expired.cert.pem'), join(CERTS, 'client-expired.key.pem')] } } as unknown as Deployment;
    assert.equal(fieldForFailure(nginx400, expired), 'client.cert');
    assert.equal(fieldForFailure(clientGaveUp, deployment), 'server.hostnames');
  });
});

describe('the gate verdict', () => {
  const finding = (status: Finding['status']): Finding => ({ rule: 'r', title: 't', status, detail: 'd' });
  it('fails on a violation, and on an inconclusive finding unless --allow-inconclusive', () => {
    assert.equal(verdictOf([finding('held'), finding('skipped')]), 'pass');
    assert.equal(verdictOf([finding('held'), finding('inconclusive')]), 'fail');
    assert.equal(verdictOf([finding('held'), finding('inconclusive')], { allowInconclusive: true }), 'pass');
    assert.equal(verdictOf([finding('violated')], { allowInconclusive: true }), 'fail');
  });
});

describe('weak suites', () => {
  it('static RSA, anonymous, export, NULL, RC4, DES and 3DES are weak; ephemeral AEAD, CAMELLIA and ARIA are not', () => {
    assert.match(weakness({ name: 'AES128-GCM-SHA256', keyExchange: 'RSA key transport' })!, /static RSA/);
    assert.match(weakness({ name: 'ADH-AES128-SHA', keyExchange: 'DH 2048' })!, /no authentication/);
    assert.match(weakness({ name: 'AECDH-NULL-SHA', keyExchange: 'ECDH X25519 256' })!, /no encryption/);
    assert.match(weakness({ name: 'ECDHE-RSA-DES-CBC3-SHA', keyExchange: 'ECDH X25519 256' })!, /broken/);
    assert.equal(weakness({ name: 'ECDHE-ARIA256-GCM-SHA384', keyExchange: 'ECDH X25519 256' }), null);
    assert.equal(weakness({ name: 'DHE-RSA-CAMELLIA256-SHA256', keyExchange: 'DH 2048' }), null);
  });
});

describe('the raw ClientHello', () => {
  it('is one TLS record holding one ClientHello with the asked version, the fallback signal and the compression methods', () => {
    const hello = clientHello({ host: '127.0.0.1', port: 1, servername: 'localhost', version: 'TLSv1_1', fallbackScsv: true, compression: [1, 0] });
    assert.equal(hello[0], 22); // handshake record
    assert.equal(hello.readUInt16BE(3), hello.length - 5);
    assert.equal(hello[5], 1); // ClientHello
    assert.equal(hello.readUInt16BE(9), 0x0302);
    const suitesLength = hello.readUInt16BE(9 + 2 + 32 + 1);
    const suites = hello.subarray(9 + 2 + 32 + 1 + 2, 9 + 2 + 32 + 1 + 2 + suitesLength);
    const codes = Array.from({ length: suites.length / 2 }, (_, i) => suites.readUInt16BE(i * 2));
    assert.ok(codes.includes(0x5600), 'TLS_FALLBACK_SCSV');
    assert.ok(codes.includes(0x00ff), 'the renegotiation SCSV');
    assert.ok(codes.includes(0xc02f) && codes.includes(0xcca8));
    const after = 9 + 2 + 32 + 1 + 2 + suitesLength;
    assert.deepEqual([...hello.subarray(after, after + 3)], [2, 1, 0]);
  });
});

describe('every measured check can come out violated, and skipped when its question did not arise', () => {
  const policy = loadPolicy('mozilla-intermediate@5.7');
  const leaf = new X509Certificate(readFileSync(join(CERTS, 'localhost.cert.pem')));
  const accepted = (version: ScannedVersion) => ({ version, accepted: true, detail: '' });
  const yes = (detail: string) => ({ measured: true as const, value: true, detail });
  const no = (detail: string) => ({ measured: true as const, value: false, detail });
  // A server that does everything wrong, as the scan would describe it.
  const bad: ServerScan = {
    versions: [accepted('TLSv1'), accepted('TLSv1_2'), accepted('TLSv1_3')],
    suites: [
      { version: 'TLSv1', name: 'AES128-SHA', keyExchange: 'RSA key transport' },
      { version: 'TLSv1_2', name: 'DHE-RSA-AES256-SHA256', keyExchange: 'DH 1024' },
      { version: 'TLSv1_3', name: 'TLS_AES_128_CCM_8_SHA256', keyExchange: 'ECDH X25519 256' },
    ],
    groups: { measured: true, value: [{ name: 'secp521r1', kind: 'ECDH', bits: 521, version: 'TLSv1.3' }, { name: 'ffdhe2048', kind: 'DH', bits: 2048, version: 'TLSv1.3' }], detail: 'in TLSv1.3' },
    dhBits: [1024],
    ecdhBits: [224],
    serverOrder: yes('offered both ways'),
    compression: yes('DEFLATE chosen'),
    secureRenegotiation: no('no renegotiation_info'),
    extendedMasterSecret: no('no extended_master_secret'),
    fallbackScsv: no('fallback accepted'),
    ocspStapled: no('no staple'),
    hsts: { measured: true, value: { header: 'max-age=60', maxAge: 60 }, detail: 'HTTP 200' },
    chain: [],
    connections: 0,
    durationMs: 0,
  };
  // A TLS 1.3-only server with nothing to ask about: no legacy version, no DH, a single suite, nothing read over HTTP.
  const unasked = { measured: false as const, reason: 'did not arise' };
  const quiet: ServerScan = {
    ...bad,
    versions: [accepted('TLSv1_3')],
    suites: [{ version: 'TLSv1_3', name: 'TLS_AES_128_GCM_SHA256', keyExchange: 'ECDH X25519 256' }],
    groups: unasked, dhBits: [], ecdhBits: [], serverOrder: unasked, compression: unasked, secureRenegotiation: unasked,
    extendedMasterSecret: unasked, fallbackScsv: unasked, ocspStapled: unasked, hsts: unasked,
  };
  const context = (scan: ServerScan, startedHere: boolean) => ({ deployment: {} as Deployment, policy, scan, startedHere, leaf });

  for (const row of MEASURED_CHECKS) {
    it(row.rule, () => {
      // OCSP needs a certificate naming a responder, which the test PKI's do not: it is skipped in both.
      const violated = row.check(context(bad, false));
      if (row.rule === 'policy.ocsp-staple') assert.equal(violated.status, 'skipped');
      else assert.equal(violated.status, 'violated', violated.detail);
      // Versions and TLS 1.3 suites are always answerable; every other question did not arise on this server.
      if (['version.legacy-refused', 'policy.tls13-ciphers', 'policy.versions'].includes(row.rule)) return;
      const skipped = row.check(context(quiet, true));
      assert.equal(skipped.status, 'skipped', skipped.detail);
    });
  }
});
