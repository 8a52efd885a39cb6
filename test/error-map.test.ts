import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertIn, lookUp } from '../support/outcome/error-map';

describe('error map', () => {
  it('reads the alert a client received, from Node, Python and OpenSSL texts alike', () => {
    const node = { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: '80:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116' };
    assert.deepEqual(alertIn(node), { code: 116, name: 'certificate_required' });
    const python = { message: '[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)' };
    assert.deepEqual(alertIn(python), { code: 116, name: 'certificate_required' });
    const axios12 = { code: 'EPROTO', message: 'write EPROTO 80:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1601:SSL alert number 40' };
    assert.deepEqual(alertIn(axios12), { code: 40, name: 'handshake_failure' });
    assert.deepEqual(alertIn({ message: '[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:1006)' }), { code: 48, name: 'unknown_ca' });
    assert.equal(alertIn({ code: 'ECONNRESET', message: 'socket hang up' }), null);
  });

  it('maps certificate verification failures to reasons, whichever implementation words them', () => {
    const cases: [string, string, string][] = [
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', 'unknown_ca'],
      ['', '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)', 'unknown_ca'],
      ['', '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:992)', 'unknown_ca'],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', 'unknown_ca'],
      ['CERT_HAS_EXPIRED', 'certificate has expired', 'certificate_expired'],
      ['', 'certificate verify failed: certificate is not yet valid', 'certificate_not_yet_valid'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames", 'hostname_mismatch'],
      ['', "certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'", 'hostname_mismatch'],
      ['INVALID_PURPOSE', 'unsupported certificate purpose', 'bad_certificate'],
      ['CURLE 60', "SSL: no alternative certificate subject name matches target host name 'localhost'", 'hostname_mismatch'],
      ['CURLE 60', "SSL: certificate subject name 'localhost' does not match target host name 'wrong.host.example'", 'hostname_mismatch'],
      ['CertificateError', "hostname 'localhost' doesn't match 'wrong.host.example'", 'hostname_mismatch'],
    ];
    for (const [code, message, reason] of cases) {
      const entry = lookUp({ ...(code ? { code } : {}), message });
      assert.equal(entry?.reason, reason, message);
      assert.equal(entry?.meaning, 'verification', message);
    }
  });

  it('maps refusals, drops and timeouts', () => {
    assert.equal(lookUp({ code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', message: 'peer did not return a certificate' })?.reason, 'certificate_required');
    assert.equal(lookUp({ code: 'ERR_SSL_NO_SHARED_CIPHER', message: 'no shared cipher' })?.reason, 'no_shared_cipher');
    assert.equal(lookUp({ code: 'ERR_SSL_UNSUPPORTED_PROTOCOL', message: 'unsupported protocol' })?.reason, 'protocol_version');
    assert.equal(lookUp({ code: 'ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM', message: 'no suitable signature algorithm' })?.reason, 'no_signature_algorithm');
    assert.equal(lookUp({ message: 'error:0A0000B1:SSL routines::no certificate assigned' })?.reason, 'missing_certificate');
    assert.equal(lookUp({ code: 'ECONNRESET', message: 'socket hang up' })?.meaning, 'dropped');
    assert.equal(lookUp({ message: 'EOF occurred in violation of protocol (_ssl.c:2427)' })?.reason, 'reset_without_alert');
    assert.equal(lookUp({ code: 'ETIMEDOUT', message: 'timeout of 5000ms exceeded' })?.reason, 'timeout');
    assert.equal(lookUp({ message: 'something nobody has seen' }), null);
  });
});
