import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviationHappens, deviations, findDeviation, unmatchedDeviations, validateDeviations } from '../support/deviations';
import type { Expectation } from '../support/expectation';
import { HarnessInputError } from '../support/errors';
import type { Outcome } from '../support/outcome/vocabulary';

const entry = {
  id: 'example',
  rules: ['mutual.server-requires-client-cert'],
  server: 'nginx',
  client: '*',
  instead_of: [{ check: 'outcome', verdict: ['server rejected client'] }],
  happens: { verdict: ['server rejected client'], reason: ['http_error'] },
  reason: 'because',
};

describe('deviations', () => {
  it('loads the reviewed file, every entry with its reason', () => {
    assert.ok(deviations().length >= 1);
    for (const d of deviations()) assert.ok(d.reason.length > 40, `${d.id} explains itself`);
  });

  it('rejects a broken entry with one line naming the entry and the field', () => {
    const broken: [Record<string, unknown>, RegExp][] = [
      [{ ...entry, server: 'iis' }, /entry 1 \(example\): field "server": unknown implementation "iis"/],
      [{ ...entry, rules: ['no.such.rule'] }, /field "rules": unknown rule id "no.such.rule"/],
      [{ ...entry, instead_of: 'the server rejects the client: .*' }, /field "instead_of" must be an object such as/],
      [{ ...entry, instead_of: [{ check: 'words' }] }, /field "instead_of".check must be one of outcome, phase/],
      [{ ...entry, instead_of: [{ check: 'outcome', colour: ['red'] }] }, /field "instead_of".colour is not one of verdict/],
      [{ ...entry, instead_of: [{ check: 'outcome', reason: 'unknown_ca' }] }, /field "instead_of".reason must be a list of values/],
      [{ ...entry, reason: '' }, /field "reason" must be a non-empty string/],
      [{ ...entry, happens: { colour: ['red'] } }, /field "happens.colour" is not one of/],
    ];
    for (const [bad, pattern] of broken) {
      assert.throws(() => validateDeviations([bad]), (e: Error) => e instanceof HarnessInputError && pattern.test(e.message) && !e.message.includes('\n'));
    }
    assert.throws(() => validateDeviations([entry, entry]), /id "example" is used twice/);
  });

  it('applies to its rule, pair and expectation only, and only when what it says happens, happens', () => {
    const rejects: Expectation = { check: 'outcome', verdict: ['server rejected client'], reason: ['certificate_required'], text: 'the server rejects the client: certificate_required' };
    assert.ok(findDeviation(['mutual.server-requires-client-cert'], 'nginx', 'curl', rejects));
    assert.equal(findDeviation(['mutual.server-requires-client-cert'], 'apache', 'curl', rejects), undefined);
    assert.equal(findDeviation(['one-way.client-verifies-server'], 'nginx', 'curl', rejects), undefined);
    const [listed] = validateDeviations([entry]);
    const outcome = (fields: Partial<Outcome>): Outcome => ({ verdict: 'server rejected client', reason: 'http_error', phase: 'http', alert: null, endedBy: 'server', ...fields }) as Outcome;
    assert.equal(deviationHappens(listed!, outcome({})), true);
    assert.equal(deviationHappens(listed!, outcome({ reason: 'unknown_ca' })), false);
  });

  it("matches on the expectation's fields, never on its words", () => {
    const rejects: Expectation = { check: 'outcome', verdict: ['server rejected client'], reason: ['certificate_required'], text: 'the server rejects the client: certificate_required' };
    const reworded = { ...rejects, text: 'a client without a certificate is turned away by the server' };
    assert.equal(findDeviation(['mutual.server-requires-client-cert'], 'nginx', 'curl', reworded)?.id, 'nginx-answers-http-400', 'rewording keeps the deviation');
    const completes: Expectation = { check: 'outcome', verdict: ['connected'], text: 'the server rejects the client: certificate_required' };
    assert.equal(findDeviation(['mutual.server-requires-client-cert'], 'nginx', 'curl', completes), undefined, 'the same words with other fields do not match');
    assert.equal(findDeviation(['mutual.server-requires-client-cert'], 'nginx', 'curl', { check: 'protocol', value: ['TLSv1.3'], text: 'x' }), undefined, 'another check does not match');
  });

  it('reports a deviation that matches no expectation the run produced', () => {
    const run = { servers: ['nginx', 'node'], clients: ['curl'], rules: ['mutual.server-requires-client-cert', 'version.default-negotiates-highest'] };
    const rejects: Expectation = { check: 'outcome', verdict: ['server rejected client'], reason: ['certificate_required'], text: 'words' };
    const unmatched = unmatchedDeviations([{ rules: ['mutual.server-requires-client-cert'], server: 'nginx', client: 'curl', expectation: rejects }], run).map((d) => d.id);
    assert.ok(!unmatched.includes('nginx-answers-http-400'), 'matched by an expectation');
    assert.ok(unmatched.includes('nginx-1.22-default-protocols'), 'its rule ran, nothing asked for TLS 1.3');
    assert.ok(!unmatched.includes('go-client-ignores-common-name'), 'about an implementation the run did not have: not judged');
  });
});
