/**
 * The one verb every Then step asserts with (after h2spec's shared verifiers):
 * it records what was expected and, when the outcome differs, fails with the
 * requirement, what was expected and what happened.
 */
import { AssertionError } from 'chai';
import { describeOutcome } from './outcome/classify';
import type { Outcome } from './outcome/vocabulary';
import { findRule } from './rules';
import type { ConformanceWorld } from './world';

export function expectOutcome(world: ConformanceWorld, expected: string, holds: (outcome: Outcome) => boolean, actual?: (outcome: Outcome) => string): void {
  const outcome = world.requireOutcome();
  const held = holds(outcome);
  world.expectations.push({ text: expected, held });
  if (held) return;
  throw new AssertionError(violationMessage(world.ruleIds, expected, actual ? actual(outcome) : describeOutcome(outcome)));
}

export function violationMessage(ruleIds: readonly string[], expected: string, actual: string): string {
  const rules = ruleIds.map((id) => `rule ${id}: ${findRule(id)?.title ?? '(not in the rule index)'}`);
  return [...(rules.length ? rules : ['(scenario without a @rule tag)']), `  expected: ${expected}`, `  actual:   ${actual}`].join('\n');
}
