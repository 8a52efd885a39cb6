/**
 * Expectations as data. Every Then step builds one Expectation: which aspect
 * of the attempt it checks (`check`) and the values that aspect may take
 * (who ends it, the reasons, the phase, the alert, the protocol...). Its
 * `text` is for people only; deviations (features/deviations.json) match on
 * the fields, never on the words, so rewording a step cannot change which
 * deviation applies.
 */
export const CHECKS = [
  /** The outcome as a whole: verdict, who ended it, reason, phase; a refusal of the configuration may be allowed. */
  'outcome',
  /** Where the client noticed. */
  'phase',
  /** The alert on the wire (null: none). */
  'alert',
  /** Whether a request reached the server's application. */
  'request',
  'client certificate',
  'server certificate',
  'protocol',
  'cipher',
  'key exchange',
  'compression',
  'alpn',
  /** What the client made of a response truncated without close_notify. */
  'truncation',
  /** A setting as the server reports it in effect. */
  'effective',
  /** The end named refused its own configuration, naming a field. */
  'refusal',
  /** What a passive observer of the connection saw (value: what it looked for). */
  'observer',
] as const;
export type CheckKind = (typeof CHECKS)[number];

export type Value = string | number | boolean | null;

/** The fields an expectation may give, each a list of the values that satisfy it. */
export const EXPECTATION_FIELDS = [
  'verdict',
  'endedBy',
  'reason',
  'phase',
  'alert',
  'sentBy',
  'value',
  'issuer',
  'setting',
  /** A refusal of its configuration by this end, naming `field`, satisfies it too. */
  'refusedBy',
  'field',
] as const;
export type ExpectationField = (typeof EXPECTATION_FIELDS)[number];

export interface Expectation extends Readonly<Partial<Record<ExpectationField, readonly Value[]>>> {
  readonly check: CheckKind;
  /** The step's words, for the reports. */
  readonly text: string;
}

/**
 * A pattern over expectations (a deviation's `instead_of`): the same `check`,
 * and for each field it names, the expectation gives that field with at least
 * one of the listed values.
 */
export interface ExpectationPattern extends Readonly<Partial<Record<ExpectationField, readonly Value[]>>> {
  readonly check: CheckKind;
}

export function matchesExpectation(pattern: ExpectationPattern, expectation: Expectation): boolean {
  if (pattern.check !== expectation.check) return false;
  return EXPECTATION_FIELDS.every((field) => {
    const wanted = pattern[field];
    if (wanted === undefined) return true;
    const given = expectation[field];
    return given !== undefined && given.some((value) => wanted.includes(value));
  });
}

/** The expectation's fields as one line, for messages ("outcome: verdict server rejected client, reason unknown_ca"). */
export function describeExpectation(expectation: ExpectationPattern): string {
  const fields = EXPECTATION_FIELDS.filter((field) => expectation[field] !== undefined).map((field) => `${field} ${expectation[field]!.map(String).join(' | ')}`);
  return `${expectation.check}${fields.length ? `: ${fields.join(', ')}` : ''}`;
}
