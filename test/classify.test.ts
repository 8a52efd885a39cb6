import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, describeOutcome } from '../support/outcome/classify';
import { client, server } from './helpers';

// Observations as the node server and axios client recorded them on real handshakes.

describe('classify', () => {
  it('TLS 1.3, CERT_REQUIRED, no client certificate: server rejected the client, alert 116, noticed on first read', () => {
    const alert = { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: 'tlsv13 alert certificate required:SSL alert number 116' };
    const outcome = classify(
      client({ handshakeCompleted: true, protocol: 'TLSv1.3', socketError: alert, requestError: alert }),
      server({ rejection: { code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', message: 'peer did not return a certificate' } }),
      5,
    );
    assert.equal(outcome.verdict, 'server rejected client');
    assert.equal(outcome.reason, 'certificate_required');
    assert.equal(outcome.phase, 'first read');
    assert.deepEqual(outcome.alert, { code: 116, name: 'certificate_required', sentBy: 'server' });
  });

  it('TLS 1.2, same case: the alert is handshake_failure, the server end still says why', () => {
    const alert = { code: 'EPROTO', message: 'write EPROTO sslv3 alert handshake failure:SSL alert number 40' };
    const outcome = classify(client({ socketError: alert, requestError: alert }), server({ rejection: { code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', message: 'peer did not return a certificate' } }), 5);
    assert.equal(outcome.reason, 'certificate_required');
    assert.equal(outcome.phase, 'handshake');
    assert.equal(outcome.alert?.code, 40);
  });

  it('an alert destroyed in flight by a reset: the alert the server says it sent gives the reason', () => {
    // gnutls-serv refused the certificate and sent alert 80; the client's request was already on its way, so the
    // close became a reset and gnutls-cli never read the alert.
    const outcome = classify(
      client({ handshakeCompleted: true, protocol: 'TLSv1.3', socketError: { code: 'gnutls-cli', message: '*** Fatal error: Error in the pull function. | *** Server has terminated the connection abnormally.' } }),
      server({ rejection: { message: 'Error in handshake: Key usage violation in certificate has been detected. | alert sent: Internal error [80]' } }),
      5,
    );
    assert.equal(outcome.verdict, 'server rejected client');
    assert.equal(outcome.reason, 'handshake_failure');
    assert.deepEqual(outcome.alert, { code: 80, name: 'internal_error', sentBy: 'server' });
  });

  it("Node's silent reset of an unknown-CA client certificate keeps its reason from the server end", () => {
    const reset = { code: 'ECONNRESET', message: 'socket hang up' };
    const outcome = classify(
      client({ handshakeCompleted: true, requestError: reset }),
      server({ verificationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', rejection: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'Node destroyed the connection' }, errors: [reset] }),
      5,
    );
    assert.equal(outcome.verdict, 'server rejected client');
    assert.equal(outcome.reason, 'unknown_ca');
    assert.equal(outcome.alert, null);
  });

  it('a client that cannot verify the server rejected it, whatever the server saw', () => {
    const error = { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'unable to verify the first certificate' };
    const outcome = classify(client({ socketError: error, requestError: error }), server({ errors: [{ code: 'ECONNRESET', message: 'socket hang up' }] }), 5);
    assert.equal(outcome.verdict, 'client rejected server');
    assert.equal(outcome.reason, 'unknown_ca');
  });

  it('a reset nobody explains, a timeout, an HTTP error, and a connection', () => {
    const reset = { code: 'ECONNRESET', message: 'socket hang up' };
    assert.equal(classify(client({ requestError: reset }), server({}), 1).reason, 'reset_without_alert');
    assert.equal(classify(client({ requestError: reset }), server({}), 1).endedBy, 'neither');
    const timeout = classify(client({ timedOut: true, requestError: { code: 'ETIMEDOUT', message: 'timeout' } }), server({}), 1);
    assert.deepEqual([timeout.reason, timeout.endedBy], ['timeout', 'neither']);
    const http = classify(client({ handshakeCompleted: true, response: { status: 400, body: 'No required SSL certificate was sent' } }), server({}), 1);
    assert.deepEqual([http.verdict, http.reason, http.phase], ['server rejected client', 'http_error', 'http']);
    const ok = classify(client({ handshakeCompleted: true, protocol: 'TLSv1.3', verified: false, response: { status: 200, body: '' } }), server({ requests: [{ method: 'GET', path: '/', status: 200 }] }), 1);
    assert.equal(ok.connected, true);
    assert.equal(ok.insecure, true);
    assert.match(describeOutcome(ok), /request completes \(HTTP 200, TLSv1\.3\) \[insecure/);
  });
});
