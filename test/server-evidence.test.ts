/** How the programs' own words (logs, state lines) become server observations: samples from real runs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { observeApache } from '../support/peers/apache-server';
import { observeNginx } from '../support/peers/nginx-server';
import { observeStateLines } from '../support/peers/openssl-server';
import { onFreePort, PORT_TAKEN, PortTaken } from '../support/peers/process-server';

describe('starting a program on a free port', () => {
  it('tries another port when the one given out was taken meanwhile', async () => {
    const tried: number[] = [];
    const port = await onFreePort(async (candidate) => {
      tried.push(candidate);
      if (tried.length < 3) throw new PortTaken();
      return candidate;
    });
    assert.equal(tried.length, 3);
    assert.equal(port, tried[2]);
    assert.ok(PORT_TAKEN.test('nginx: [emerg] bind() to 127.0.0.1:4443 failed (98: Address already in use)'));
    assert.ok(PORT_TAKEN.test('(98)Address already in use: AH00072: make_sock: could not bind to address 127.0.0.1:4443'));
  });
});

describe('server evidence from logs and output', () => {
  it('openssl s_server: a refusal, an alert from the client, and a served request', () => {
    const refused = observeStateLines(
      'SSL_accept:before SSL initialization\nSSL3 alert write:fatal:unknown\nSSL_accept:error in error\n' +
        '805B:error:0A0000C7:SSL routines:tls_process_client_certificate:peer did not return a certificate:../ssl/statem/statem_srvr.c:3517:\n',
    );
    assert.equal(refused.handshakeCompleted, false);
    assert.match(refused.rejection!.message, /peer did not return a certificate/);
    const alerted = observeStateLines('SSL_accept:before SSL initialization\nSSL3 alert read:fatal:unknown CA\nSSL_accept:error in error\n805B:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../ssl/record/rec_layer_s3.c:1602:SSL alert number 48\n');
    assert.equal(alerted.rejection, null, 'an alert the client sent is not the server refusing');
    assert.equal(alerted.errors.length, 1);
    const served = observeStateLines('SSL_accept:before SSL initialization\ndepth=0 CN = conformance client, O = TLS conformance harness\nverify return:1\nSSL3 alert write:warning:close notify\n');
    assert.equal(served.handshakeCompleted, true);
    assert.equal(served.clientCertificate?.subject, 'CN=conformance client, O=TLS conformance harness');
    assert.equal(served.requests.length, 1);
    assert.equal(observeStateLines('').accepted, false);
  });

  it('nginx: a 400 for a missing client certificate, and a handshake failure', () => {
    const http400 = observeNginx('51234 TLSv1.3 TLS_AES_256_GCM_SHA384 "NONE" "-" "GET / HTTP/1.1" 400\n');
    assert.equal(http400.handshakeCompleted, true);
    assert.equal(http400.protocol, 'TLSv1.3');
    assert.equal(http400.clientCertificate, null);
    assert.equal(http400.rejection?.code, 'HTTP 400');
    assert.deepEqual(http400.requests, [{ method: 'GET', path: '/', status: 400 }]);
    const ok = observeNginx('51235 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 "SUCCESS" "CN=conformance client,O=TLS conformance harness" "GET / HTTP/1.1" 200\n');
    assert.equal(ok.rejection, null);
    assert.equal(ok.clientCertificate?.subject, 'CN=conformance client, O=TLS conformance harness');
    const failed = observeNginx(
      '2026/11/30 07:30:00 [info] 1#1: *5 SSL_do_handshake() failed (SSL: error:0A000412:SSL routines::sslv3 alert bad certificate:SSL alert number 42) while SSL handshaking, client: 127.0.0.1, server: 127.0.0.1:4443\n',
    );
    assert.equal(failed.rejection, null);
    assert.match(failed.errors[0]!.message, /alert number 42/);
  });

  it('apache: the library error and the verification error of a refused client', () => {
    const refused = observeApache(
      '[ssl:info] [pid 1:tid 1] [client 127.0.0.1:46266] AH02008: SSL library error 1 in handshake (server localhost:443)\n' +
        '[ssl:info] [pid 1:tid 1] SSL Library Error: error:0A0000C7:SSL routines::peer did not return a certificate -- No CAs known to server for verification?\n',
    );
    assert.match(refused.rejection!.message, /peer did not return a certificate/);
    const unverified = observeApache('[ssl:info] [pid 1:tid 1] [client 127.0.0.1:1] AH02276: Certificate Verification: Error (20): unable to get local issuer certificate\n');
    assert.equal(unverified.verificationError, 'unable to get local issuer certificate');
    const served = observeApache('40000 TLSv1.3 TLS_AES_256_GCM_SHA384 "NONE" "-" "GET / HTTP/1.1" 200\n');
    assert.deepEqual(served.requests, [{ method: 'GET', path: '/', status: 200 }]);
  });
});
