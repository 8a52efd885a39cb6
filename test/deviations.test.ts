import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviationHappens, deviations, findDeviation, validateDeviations } from '../support/deviations';
import { HarnessInputError } from '../support/errors';
import type { Outcome } from '../support/outcome/vocabulary';

const entry = {
  id: 'example',
  rules: ['mutual.server-requires-client-cert'],
  server: 'nginx',
  client: '*',
  instead_of: 'the server rejects the client: .*',
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
      [{ ...entry, instead_of: '(' }, /field "instead_of" is not a regular expression/],
      [{ ...entry, reason: '' }, /field "reason" must be a non-empty string/],
      [{ ...entry, happens: { colour: ['red'] } }, /field "happens.colour" is not one of/],
    ];
    for (const [bad, pattern] of broken) {
      assert.throws(() => validateDeviations([bad]), (e: Error) => e instanceof HarnessInputError && pattern.test(e.message) && !e.message.includes('\n'));
    }
    assert.throws(() => validateDeviations([entry, entry]), /id "example" is used twice/);
  });

  it('applies to its rule, pair and expectation only, and only when what it says happens, happens', () => {
    assert.ok(findDeviation(['mutual.server-requires-client-cert'], 'nginx', 'curl', 'the server rejects the client: certificate_required'));
    assert.equal(findDeviation(['mutual.server-requires-client-cert'], 'apache', 'curl', 'the server rejects the client: certificate_required'), undefined);
    assert.equal(findDeviation(['one-way.client-verifies-server'], 'nginx', 'curl', 'the server rejects the client: certificate_required'), undefined);
    const [listed] = validateDeviations([entry]);
    const outcome = (fields: Partial<Outcome>): Outcome => ({ verdict: 'server rejected client', reason: 'http_error', phase: 'http', alert: null, endedBy: 'server', ...fields }) as Outcome;
    assert.equal(deviationHappens(listed!, outcome({})), true);
    assert.equal(deviationHappens(listed!, outcome({ reason: 'unknown_ca' })), false);
  });
});
