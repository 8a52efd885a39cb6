import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { RULES_DOC, renderRulesDoc } from '../support/report/rules-doc';
import { IMPLEMENTED_GROUPS, RULES } from '../support/rules';

const FEATURES = resolve(__dirname, '..', 'features');
const text = readdirSync(FEATURES)
  .filter((f) => f.endsWith('.feature'))
  .map((f) => readFileSync(join(FEATURES, f), 'utf8'))
  .join('\n');
const tagged = new Set([...text.matchAll(/@rule:([a-z0-9.-]+)/g)].map((m) => m[1]!));

describe('rule index', () => {
  it('has unique ids', () => {
    assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length);
  });

  it('knows every @rule id the features use', () => {
    for (const id of tagged) assert.ok(RULES.some((r) => r.id === id), `@rule:${id} is not in support/rules.ts`);
  });

  it('is written out, unchanged, in docs/rules.md (npm run docs)', () => {
    assert.equal(readFileSync(resolve(__dirname, '..', RULES_DOC), 'utf8'), renderRulesDoc());
  });

  it('has every rule of the implemented groups tag at least one scenario', () => {
    const expected = RULES.filter((r) => IMPLEMENTED_GROUPS.includes(r.id.split('.')[0]!));
    assert.ok(expected.length >= 14);
    for (const rule of expected) assert.ok(tagged.has(rule.id), `no scenario is tagged @rule:${rule.id}`);
  });
});
