/** What happened to the attempt: every step here asserts through the one verb, expectOutcome. */
import { Then } from '@cucumber/cucumber';
import { expectOutcome, expectRefusalOr } from '../support/expect';
import { describeOutcome } from '../support/outcome/classify';
import { CERTIFICATE_REASONS, serverRefused, serverRefusedCertificate } from '../support/outcome/judge';
import type { Alert, Phase, Reason } from '../support/outcome/vocabulary';
import type { ProfileFiles } from '../support/pki/store';
import { type TlsVersion, PROTOCOL_NAME } from '../support/vocabulary';
import type { ConformanceWorld } from '../support/world';

Then('the request completes', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'outcome', verdict: ['connected'], text: 'the request completes' }, (o) => o.connected);
});

Then('the server rejects the client: {reason}', function (this: ConformanceWorld, reason: Reason) {
  expectOutcome(this, { check: 'outcome', verdict: ['server rejected client'], reason: [reason], text: `the server rejects the client: ${reason}` }, (o) => serverRefused(o) && o.reason === reason);
});

/** Two refusals the rule allows equally; the report shows which one each pair gave. */
Then('the server rejects the client: {reason} or {reason}', function (this: ConformanceWorld, first: Reason, second: Reason) {
  expectOutcome(this, { check: 'outcome', verdict: ['server rejected client'], reason: [first, second], text: `the server rejects the client: ${first} or ${second}` }, (o) => serverRefused(o) && (o.reason === first || o.reason === second));
});

/** When which check of the certificate fails first differs between implementations, and the point is only that it fails. */
Then("the server rejects the client's certificate", function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'outcome', verdict: ['server rejected client'], reason: CERTIFICATE_REASONS, text: "the server rejects the client's certificate" }, serverRefusedCertificate);
});

/** Rules that allow either: the server starts and rejects, or it refuses the configuration (naming the field). */
Then('the server rejects the client: {reason}, or refuses to start without its {word}', function (this: ConformanceWorld, reason: Reason, field: string) {
  expectRefusalOr(this, { check: 'outcome', verdict: ['server rejected client'], reason: [reason], refusedBy: ['server'], field: [field], text: `the server rejects the client: ${reason}, or refuses to start without its ${field}` }, (o) => serverRefused(o) && o.reason === reason);
});

Then('the client rejects the server: {reason}', function (this: ConformanceWorld, reason: Reason) {
  expectOutcome(this, { check: 'outcome', verdict: ['client rejected server'], reason: [reason], text: `the client rejects the server: ${reason}` }, (o) => o.verdict === 'client rejected server' && o.reason === reason);
});

Then('the client notices at the {phase}', function (this: ConformanceWorld, phase: Phase) {
  expectOutcome(this, { check: 'phase', phase: [phase], text: `the client notices at the ${phase}` }, (o) => o.phase === phase, (o) => `noticed at the ${o.phase ?? '(nothing to notice: connected)'}`);
});

Then('the wire shows {alert}', function (this: ConformanceWorld, alert: Alert | null) {
  const text = alert ? `alert ${alert.code} ${alert.name} from the ${alert.sentBy}` : 'no alert';
  expectOutcome(
    this,
    { check: 'alert', alert: [alert ? alert.name : null], sentBy: [alert ? alert.sentBy : null], text: `the wire shows ${text}` },
    (o) => (alert === null ? o.alert === null : o.alert?.code === alert.code && o.alert.sentBy === alert.sentBy),
    (o) => (o.alert ? `alert ${o.alert.code} ${o.alert.name} from the ${o.alert.sentBy}` : 'no alert'),
  );
});

Then('no request reaches the server', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'request', value: [false], text: 'no request reaches the server' }, (o) => !o.requestReachedServer, () => 'the server answered a request');
});

Then('the connection is reported insecure', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'outcome', verdict: ['connected'], value: ['insecure'], text: 'the connection is reported insecure' }, (o) => o.connected && o.insecure);
});

Then('the server sees no client certificate', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'client certificate', value: [null], text: 'the server sees no client certificate' }, (o) => o.clientCertificate === null, (o) => `the server saw ${o.clientCertificate?.subject}`);
});

Then('the client sees a server certificate issued by {certificate}', function (this: ConformanceWorld, issuer: ProfileFiles) {
  expectOutcome(
    this,
    { check: 'server certificate', issuer: [commonName(issuer.subject) ?? issuer.subject], text: `the client sees a server certificate issued by ${issuer.subject}` },
    (o) => commonName(o.serverCertificate?.issuer) === commonName(issuer.subject),
    (o) => `the client saw ${o.serverCertificate ? `a certificate issued by ${o.serverCertificate.issuer}` : 'no certificate'}`,
  );
});

Then('the negotiated protocol is {tls version}', function (this: ConformanceWorld, version: TlsVersion) {
  expectOutcome(this, { check: 'protocol', value: [PROTOCOL_NAME[version]], text: `the negotiated protocol is ${PROTOCOL_NAME[version]}` }, (o) => o.protocol === PROTOCOL_NAME[version], (o) => `negotiated ${o.protocol}`);
});

Then('the negotiated cipher is {word}', function (this: ConformanceWorld, cipher: string) {
  expectOutcome(this, { check: 'cipher', value: [cipher], text: `the negotiated cipher is ${cipher}` }, (o) => o.cipher === cipher, (o) => `negotiated ${o.cipher}`);
});

Then('the key exchange is {string}', function (this: ConformanceWorld, kind: string) {
  const ephemeral = kind === 'ephemeral';
  expectOutcome(
    this,
    { check: 'key exchange', value: [kind], text: `the key exchange is ${kind}` },
    (o) => o.keyExchange !== null && (ephemeral ? o.keyExchange !== 'RSA key transport' : o.keyExchange === kind),
    (o) => `key exchange ${o.keyExchange}`,
  );
});

/**
 * The server cannot serve TLS: it refused the configuration naming `field`, or
 * it started anyway and failed the handshake. Which one happened is recorded.
 */
Then('the server cannot serve TLS because of its {word}', function (this: ConformanceWorld, field: string) {
  expectRefusalOr(this, { check: 'outcome', verdict: ['server rejected client'], phase: ['handshake'], refusedBy: ['server'], field: [field], text: `the server cannot serve TLS because of its ${field}` }, (o) => serverRefused(o) && o.phase === 'handshake');
});

Then('the client times out waiting for the answer', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'outcome', reason: ['timeout'], phase: ['first read'], text: 'the client times out waiting for the answer' }, (o) => o.reason === 'timeout' && o.phase === 'first read');
});

Then('nothing accepts the connection any more', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'outcome', reason: ['connection_refused'], text: 'nothing accepts the connection any more' }, (o) => o.reason === 'connection_refused');
});

/** A setting as the implementation itself reports it in effect (Python's SSLContext.verify_mode). */
Then('the server reports {word} {word}', function (this: ConformanceWorld, setting: string, value: string) {
  expectOutcome(
    this,
    { check: 'effective', setting: [setting], value: [value], text: `the server reports ${setting} ${value}` },
    (o, attempt) => (o.evidence.server.effective?.[setting] === undefined ? { notSupported: `the ${attempt.server.name} server does not report ${setting}` } : o.evidence.server.effective[setting] === value),
    (o) => `the server reports ${setting} ${o.evidence.server.effective?.[setting] ?? '(nothing: this implementation does not report it)'}`,
  );
});

/** The end named refused its own configuration (naming the field), before any handshake. */
for (const end of ['server', 'client'] as const) {
  Then(`the ${end} refuses its {word}`, function (this: ConformanceWorld, field: string) {
    expectRefusalOr(this, { check: 'refusal', refusedBy: [end], field: [field], text: `the ${end} refuses its ${field}` });
  });
}

/** Suites a client library may not be able to offer at all, and a server refuses when it is offered. */
Then('the server rejects the client: {reason}, or the client refuses its {word}', function (this: ConformanceWorld, reason: Reason, field: string) {
  expectRefusalOr(this, { check: 'outcome', verdict: ['server rejected client'], reason: [reason], refusedBy: ['client'], field: [field], text: `the server rejects the client: ${reason}, or the client refuses its ${field}` }, (o) => serverRefused(o) && o.reason === reason);
});

Then('the client refuses to connect: {reason}', function (this: ConformanceWorld, reason: Reason) {
  expectOutcome(this, { check: 'outcome', endedBy: ['client'], reason: [reason], text: `the client refuses to connect: ${reason}` }, (o) => o.endedBy === 'client' && o.reason === reason);
});

Then('a cipher suite was negotiated', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'cipher', text: 'a cipher suite was negotiated' }, (o) => o.cipher !== null, () => 'no cipher suite reported');
});

Then('the compression is none', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'compression', value: ['none'], text: 'the compression is none' }, (o, attempt) => (o.compression == null ? { notSupported: `the ${attempt.client.name} client does not report compression` } : o.compression === 'none'), (o) => `compression ${o.compression ?? '(not reported by this client)'}`);
});

/** A client that does not say what ALPN agreed cannot show either ALPN check held. */
const ALPN_NOT_REPORTED = (client: string): string => `the ${client} client does not report the agreed application protocol`;

Then('the agreed application protocol is {string}', function (this: ConformanceWorld, protocol: string) {
  expectOutcome(this, { check: 'alpn', value: [protocol], text: `the agreed application protocol is ${protocol}` }, (o, attempt) => (o.connected && o.alpn === undefined ? { notSupported: ALPN_NOT_REPORTED(attempt.client.name) } : o.connected && o.alpn === protocol), (o) => (o.connected ? `agreed ${o.alpn ?? 'no application protocol'}` : describeOutcome(o)));
});

Then('no application protocol is agreed', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'alpn', value: [null], text: 'no application protocol is agreed' }, (o, attempt) => (o.connected && o.alpn === undefined ? { notSupported: ALPN_NOT_REPORTED(attempt.client.name) } : o.alpn == null), (o) => `agreed ${o.alpn}`);
});

Then('the client accepts the truncated response as complete', function (this: ConformanceWorld) {
  expectOutcome(this, { check: 'truncation', value: ['accepted'], text: 'the client accepts the truncated response as complete' }, (o) => o.connected && o.endError === null, (o) => (o.connected ? `the client raised: ${o.endError}` : describeOutcome(o)));
});

Then('the client reports an error at the truncated end', function (this: ConformanceWorld) {
  expectOutcome(
    this,
    { check: 'truncation', value: ['error'], text: 'the client reports an error at the truncated end' },
    (o) => (o.connected && o.endError !== null) || (!o.connected && o.phase === 'first read'),
    (o) => (o.connected ? 'the client accepted it as complete, without an error' : describeOutcome(o)),
  );
});

function commonName(dn: string | undefined): string | undefined {
  return /CN=([^,\n]+)/.exec(dn ?? '')?.[1];
}
