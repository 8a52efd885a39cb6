/**
 * The one verb every Then step asserts with (after h2spec's shared verifiers):
 * for each implementation pair it records what was expected and whether it
 * held, applies the listed deviations, and fails with the requirement, what
 * was expected and what happened at each pair that violated it.
 */
import { AssertionError } from 'chai';
import { deviationHappens, findDeviations, type SettingLabels } from './deviations';
import { describeClientSettings, describeServerSettings } from './report/attempt-record';
import type { Expectation } from './expectation';
import { describeOutcome } from './outcome/classify';
import type { Outcome } from './outcome/vocabulary';
import type { PairAttempt } from './pairs';
import { findRule } from './rules';
import type { ConformanceWorld } from './world';

export type Judgement =
  | { readonly held: true }
  | { readonly held: false; readonly actual: string }
  /** The pair's ends do not report what the expectation is about: nothing is claimed either way. */
  | { readonly held: 'not supported'; readonly why: string };

/** Check one expectation on every pair; `judge` gets each pair's attempt (a refusal included). */
export function expectEachPair(world: ConformanceWorld, expectation: Expectation, judge: (attempt: PairAttempt) => Judgement): void {
  if (world.attempts.length === 0) throw new Error('no connection was attempted: a "When the client connects" step must come first');
  const expected = expectation.text;
  const violations: string[] = [];
  for (const attempt of world.attempts) {
    if (attempt.unsupported) {
      attempt.checks.push({ expected, expectation, verdict: 'not supported', actual: attempt.unsupported.detail });
      continue;
    }
    const judgement = judge(attempt);
    if (judgement.held === 'not supported') {
      attempt.checks.push({ expected, expectation, verdict: 'not supported', actual: judgement.why });
      continue;
    }
    // Of the deviations listed for this expectation, the one whose "happens" is what happened (else the first, to say it is stale).
    const listed = findDeviations(world.ruleIds, attempt.server.name, attempt.client.name, expectation, settingLabels(world));
    const deviation = listed.find((d) => attempt.outcome && deviationHappens(d, attempt.outcome)) ?? listed[0];
    if (judgement.held) {
      attempt.checks.push({ expected, expectation, verdict: 'held', ...(deviation ? { staleDeviation: deviation.id } : {}) });
    } else if (deviation && attempt.outcome && deviationHappens(deviation, attempt.outcome)) {
      attempt.checks.push({ expected, expectation, verdict: 'deviation', actual: judgement.actual, deviation: { id: deviation.id, reason: deviation.reason } });
    } else {
      attempt.checks.push({ expected, expectation, verdict: 'violated', actual: judgement.actual });
      violations.push(`${attempt.server.name} server × ${attempt.client.name} client: ${judgement.actual}`);
    }
  }
  if (violations.length) throw new AssertionError(violationMessage(world.ruleIds, expected, violations));
}

/**
 * Check one expectation about the outcome on every pair. A configuration the
 * server refused is broken input here. `holds` may answer 'not supported'
 * with the reason when the pair's ends do not report what it asks about.
 */
export function expectOutcome(
  world: ConformanceWorld,
  expectation: Expectation,
  holds: (outcome: Outcome, attempt: PairAttempt) => boolean | { readonly notSupported: string },
  actual?: (outcome: Outcome) => string,
): void {
  expectEachPair(world, expectation, (attempt) => {
    if (attempt.refusal) throw attempt.refusal;
    const outcome = attempt.outcome!;
    const held = holds(outcome, attempt);
    if (typeof held === 'object') return { held: 'not supported', why: held.notSupported };
    return held ? { held: true } : { held: false, actual: actual ? actual(outcome) : describeOutcome(outcome) };
  });
}

/**
 * Rules that a refused configuration satisfies: the end the expectation names
 * (`refusedBy`) refused its settings naming its `field`; or, where it did
 * not, the outcome `holds` (no `holds`: only the refusal will do).
 */
export function expectRefusalOr(world: ConformanceWorld, expectation: Expectation, holds?: (outcome: Outcome) => boolean): void {
  const end = expectation.refusedBy?.[0];
  const field = expectation.field?.[0];
  expectEachPair(world, expectation, ({ refusal, refusedBy, outcome }) => {
    if (refusal) return refusedBy === end && refusal.field === field ? { held: true } : { held: false, actual: `the ${refusedBy} refused its ${refusal.field}: ${refusal.detail}` };
    return holds?.(outcome!) ? { held: true } : { held: false, actual: describeOutcome(outcome!) };
  });
}

/** The combination's settings as the reports name them, for deviations that name some. */
function settingLabels(world: ConformanceWorld): SettingLabels | undefined {
  if (!world.attempted) return undefined;
  const prefixed = (end: string, labels: Record<string, string>): [string, string][] => Object.entries(labels).map(([k, v]) => [`${end}.${k}`, v]);
  return Object.fromEntries([...prefixed('server', describeServerSettings(world.attempted.server)), ...prefixed('client', describeClientSettings(world.attempted.client))]);
}

export function violationMessage(ruleIds: readonly string[], expected: string, actual: readonly string[]): string {
  const rules = ruleIds.map((id) => `rule ${id}: ${findRule(id)?.title ?? '(not in the rule index)'}`);
  const happened = actual.length === 1 ? [`  actual:   ${actual[0]}`] : ['  actual:', ...actual.map((line) => `    ${line}`)];
  return [...(rules.length ? rules : ['(scenario without a @rule tag)']), `  expected: ${expected}`, ...happened].join('\n');
}
