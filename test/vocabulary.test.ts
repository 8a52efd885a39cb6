import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HarnessInputError } from '../support/errors';
import { parseCertReqs, parseSslVersion, parseTlsVersion, versionRange } from '../support/vocabulary';

describe('the documents vocabulary', () => {
  it('reads cert_reqs with or without the ssl. prefix, and rejects unknown values as broken input', () => {
    assert.equal(parseCertReqs('CERT_REQUIRED'), 'CERT_REQUIRED');
    assert.equal(parseCertReqs('ssl.CERT_OPTIONAL'), 'CERT_OPTIONAL');
    assert.throws(() => parseCertReqs('CERT_SOMETIMES'), (e: Error) => e instanceof HarnessInputError && /cert_reqs: unknown value "CERT_SOMETIMES"/.test(e.message));
  });

  it('reads ssl_version as Python evaluates it: a constant is a protocol, a string is a configuration error', () => {
    assert.deepEqual(parseSslVersion('ssl.PROTOCOL_TLSv1_2'), { constant: 'PROTOCOL_TLSv1_2' });
    assert.deepEqual(parseSslVersion('PROTOCOL_TLS'), { constant: 'PROTOCOL_TLS' });
    const string = parseSslVersion('"ssl.PROTOCOL_TLSv1_2"');
    assert.ok('problem' in string && /is the string "ssl.PROTOCOL_TLSv1_2", not a protocol constant/.test(string.problem));
    assert.ok('problem' in parseSslVersion('ssl.PROTOCOL_TLSv9'));
  });

  it('turns ssl_version and the version bounds into a range', () => {
    assert.deepEqual(versionRange('PROTOCOL_TLSv1_2', 'TLSv1_3'), { min: 'TLSv1_2', max: 'TLSv1_2' });
    assert.deepEqual(versionRange('PROTOCOL_TLS', 'TLSv1_3', 'TLSv1_3'), { min: 'TLSv1_3', max: 'TLSv1_3' });
    assert.deepEqual(versionRange('PROTOCOL_TLS'), {});
  });

  it('reads TLS versions as people write them', () => {
    assert.equal(parseTlsVersion('v', 'TLS 1.3'), 'TLSv1_3');
    assert.equal(parseTlsVersion('v', 'TLSv1.2'), 'TLSv1_2');
    assert.equal(parseTlsVersion('v', 'ssl.TLSVersion.TLSv1_1'), 'TLSv1_1');
    assert.equal(parseTlsVersion('v', 'TLS 1.0'), 'TLSv1');
    assert.throws(() => parseTlsVersion('v', 'TLS 2'), HarnessInputError);
  });
});
