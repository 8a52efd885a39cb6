/** What a passive observer on the path records, and what the server's private key opens afterwards. */
import { Given, Then } from '@cucumber/cucumber';
import { readFileSync } from 'node:fs';
import { expectEachPair, type Judgement } from '../support/expect';
import { decryptRecording } from '../support/observer/decrypt-tls12';
import type { Recording } from '../support/observer/relay';
import { applicationDataBytes, serverNameIndication } from '../support/observer/tls-records';
import { describeOutcome } from '../support/outcome/classify';
import type { PairAttempt } from '../support/pairs';
import type { Expectation } from '../support/expectation';
import type { ConformanceWorld } from '../support/world';

Given('a passive observer records each connection', function (this: ConformanceWorld) {
  this.observing = true;
});

Given('the client requests the path {string}', function (this: ConformanceWorld, path: string) {
  this.client.path = path;
});

Given('the client sends the header {string}', function (this: ConformanceWorld, header: string) {
  const [name, ...value] = header.split(':');
  this.client.headers = { ...this.client.headers, [name!.trim()]: value.join(':').trim() };
});

/** The expectation of an observer step: what it looks for in the recording. */
function observed(what: string, text: string): Expectation {
  return { check: 'observer', value: [what], text };
}

/** Judge a recording of a connection that completed its request (an observer of a failed one proves nothing). */
function onRecording(judge: (recording: Recording, attempt: PairAttempt) => Judgement) {
  return (attempt: PairAttempt): Judgement => {
    if (attempt.refusal) throw attempt.refusal;
    if (!attempt.outcome!.connected) return { held: false, actual: `the request did not complete: ${describeOutcome(attempt.outcome!)}` };
    if (!attempt.recording) return { held: false, actual: 'nothing was recorded: no observer was asked for' };
    return judge(attempt.recording, attempt);
  };
}

Then('the observer sees the addresses and ports of both ends', function (this: ConformanceWorld) {
  expectEachPair(this, observed('addresses', 'the observer sees the addresses and ports of both ends'), onRecording((r) =>
    r.client.port > 0 && r.server.port > 0 && r.client.address.endsWith('127.0.0.1') ? { held: true } : { held: false, actual: `saw ${r.client.address}:${r.client.port} → ${r.server.address}:${r.server.port}` }));
});

Then('the observer sees the server name {string}', function (this: ConformanceWorld, name: string) {
  expectEachPair(this, observed('server name', `the observer sees the server name ${name}`), onRecording((r) => {
    const seen = serverNameIndication(r.clientToServer);
    return seen === name ? { held: true } : { held: false, actual: seen ? `saw the server name ${seen}` : 'saw no server name' };
  }));
});

Then('the observer sees no server name', function (this: ConformanceWorld) {
  expectEachPair(this, observed('no server name', 'the observer sees no server name'), onRecording((r) => {
    const seen = serverNameIndication(r.clientToServer);
    return seen === null ? { held: true } : { held: false, actual: `saw the server name ${seen}` };
  }));
});

Then('the observer does not see {string}', function (this: ConformanceWorld, secret: string) {
  expectEachPair(this, observed('secret hidden', `the observer does not see ${JSON.stringify(secret)}`), onRecording((r) => {
    const where = [r.clientToServer.includes(secret) ? 'from the client' : '', r.serverToClient.includes(secret) ? 'from the server' : ''].filter(Boolean);
    return where.length === 0 ? { held: true } : { held: false, actual: `saw ${JSON.stringify(secret)} in the clear, ${where.join(' and ')}` };
  }));
});

Then('the observer sees at least {int} bytes of application data from the client', function (this: ConformanceWorld, bytes: number) {
  expectEachPair(this, observed('application data', `the observer sees at least ${bytes} bytes of application data from the client`), onRecording((r) => {
    const seen = applicationDataBytes(r.clientToServer);
    return seen >= bytes ? { held: true } : { held: false, actual: `saw ${seen} bytes` };
  }));
});

function serverCertificateDer(world: ConformanceWorld): Buffer {
  const pem = readFileSync(world.attempted!.server.certfile!, 'utf8');
  const body = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem)![1]!;
  return Buffer.from(body.replace(/\s+/g, ''), 'base64');
}

for (const [sees, wanted] of [['sees', true], ['does not see', false]] as const) {
  Then(`the observer ${sees} the server certificate`, function (this: ConformanceWorld) {
    const der = serverCertificateDer(this);
    expectEachPair(this, observed(`${sees} the server certificate`, `the observer ${sees} the server certificate`), onRecording((r) => {
      const visible = r.serverToClient.includes(der);
      return visible === wanted ? { held: true } : { held: false, actual: visible ? 'saw the server certificate in the clear' : 'did not see the server certificate' };
    }));
  });
}

/** The server's key, as someone who obtained it later would use it: with the recording, and nothing else. */
function decryptWithLeakedKey(world: ConformanceWorld, attempt: PairAttempt, recording: Recording) {
  attempt.decryption ??= decryptRecording(recording, readFileSync(world.attempted!.server.keyfile!, 'utf8'));
  return attempt.decryption;
}

Then('the recording, with the server\'s private key, shows the request for {string}', function (this: ConformanceWorld, path: string) {
  expectEachPair(this, observed('request decrypted', `the recording, with the server's private key, shows the request for ${path}`), onRecording((recording, attempt) => {
    const result = decryptWithLeakedKey(this, attempt, recording);
    if (!result.decrypted) return { held: false, actual: `not decrypted: ${result.why}` };
    return result.clientPlaintext.includes(`GET ${path} `) ? { held: true } : { held: false, actual: `decrypted, without the path: ${result.clientPlaintext.slice(0, 80)}` };
  }));
});

Then('the recording cannot be decrypted with the server\'s private key', function (this: ConformanceWorld) {
  expectEachPair(this, observed('not decrypted', "the recording cannot be decrypted with the server's private key"), onRecording((recording, attempt) => {
    const result = decryptWithLeakedKey(this, attempt, recording);
    return result.decrypted ? { held: false, actual: `decrypted: ${result.clientPlaintext.slice(0, 80)}` } : { held: true };
  }));
});
