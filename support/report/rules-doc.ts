/**
 * docs/rules.md, the rule index as a document: written from support/rules.ts
 * (`npm run docs`), kept in step by a test, and linked from the reports.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATE_RULES } from '../gate/probes';
import { RULES } from '../rules';

export const RULES_DOC = 'docs/rules.md';

export function renderRulesDoc(): string {
  const groups = new Map<string, typeof RULES[number][]>();
  for (const rule of RULES) {
    const group = rule.id.split('.')[0]!;
    groups.set(group, [...(groups.get(group) ?? []), rule]);
  }
  const lines = [
    '# The rule index',
    '',
    'Every rule the two source documents state, with a stable id. Each id is the tag of scenarios (`@rule:<id>`) in `features/`;',
    'run one with `npm run conformance -- --rule <id>`. Document 000: the note on Python\'s `ssl` module (one-way and mutual',
    'authentication with eventlet and requests). Document 001: the TLS notes from *Foundations of Python Network Programming*.',
    '',
    'Generated from `support/rules.ts` by `npm run docs`.',
    '',
  ];
  for (const [group, rules] of groups) {
    lines.push(`## ${group}`, '', '| id | rule | source |', '|---|---|---|');
    for (const rule of rules) lines.push(`| <a id="${rule.id}"></a>\`${rule.id}\` | ${rule.title} | ${rule.source} |`);
    lines.push('');
  }
  lines.push(
    '## Checks of the deployment gate only',
    '',
    'The gate (`--deployment`) also checks the policy and the protocol, measured from the wire (see the README).',
    '',
    '| id | check |',
    '|---|---|',
    ...Object.entries(GATE_RULES).map(([id, title]) => `| <a id="${id}"></a>\`${id}\` | ${title} |`),
    '',
  );
  return lines.join('\n');
}

if (require.main === module) writeFileSync(join(__dirname, '..', '..', RULES_DOC), renderRulesDoc());
