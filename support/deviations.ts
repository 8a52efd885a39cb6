/**
 * Expected deviations: where an implementation legitimately differs from what
 * a rule's scenario expects, listed once, with the reason, in one reviewed
 * file: features/deviations.json. It names the expectations it replaces as
 * data (`instead_of`: the check and its fields, support/expectation.ts), never
 * by a step's words. A deviation applies to a failed expectation only when
 * what happened is what the entry says happens; a deviation whose expectation
 * now holds is reported as no longer happening, and one that matches no
 * expectation of the run is reported as matching nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessInputError } from './errors';
import { CHECKS, EXPECTATION_FIELDS, matchesExpectation, type Expectation, type ExpectationPattern } from './expectation';
import type { Outcome } from './outcome/vocabulary';
import { CLIENTS, SERVERS } from './peers/registry';
import { findRule } from './rules';
import { PROJECT_ROOT } from './pki/store';

export const DEVIATIONS_FILE = join(PROJECT_ROOT, 'features', 'deviations.json');

export interface Deviation {
  readonly id: string;
  readonly rules: readonly string[];
  /** Server implementation, a list of them, or "*". */
  readonly server: string | readonly string[];
  /** Client implementation, a list of them, or "*". */
  readonly client: string | readonly string[];
  /** The expectations it replaces: patterns over their fields (check, verdict, reason, phase...). */
  readonly instead_of: readonly ExpectationPattern[];
  /**
   * Only where the combination's settings are these (as the reports name them: "server.certfile": ["cn-only"]):
   * a difference that belongs to one certificate or one setting, not to every scenario of its rules.
   */
  readonly given?: Readonly<Record<string, readonly string[]>>;
  /** What happens instead: each named outcome field must equal one of the values. */
  readonly happens: Readonly<Partial<Record<'verdict' | 'reason' | 'phase' | 'endedBy' | 'alert' | 'protocol', readonly (string | null)[]>>>;
  readonly reason: string;
}

const FIELDS = ['verdict', 'reason', 'phase', 'endedBy', 'alert', 'protocol'] as const;

export function validateDeviations(raw: unknown): Deviation[] {
  const where = 'features/deviations.json';
  if (!Array.isArray(raw)) throw new HarnessInputError(`${where}: expected a JSON array of deviations`);
  const ids = new Set<string>();
  return raw.map((entry: Record<string, unknown>, index) => {
    const at = `${where}: entry ${index + 1}${typeof entry?.id === 'string' ? ` (${entry.id})` : ''}`;
    const text = (field: string): string => {
      if (typeof entry?.[field] !== 'string' || entry[field] === '') throw new HarnessInputError(`${at}: field "${field}" must be a non-empty string`);
      return entry[field] as string;
    };
    const id = text('id');
    if (ids.has(id)) throw new HarnessInputError(`${at}: id "${id}" is used twice`);
    ids.add(id);
    const rules = entry.rules;
    if (!Array.isArray(rules) || rules.length === 0) throw new HarnessInputError(`${at}: field "rules" must list rule ids`);
    for (const rule of rules) if (!findRule(String(rule))) throw new HarnessInputError(`${at}: field "rules": unknown rule id ${JSON.stringify(rule)}`);
    const implementations = (field: 'server' | 'client', known: Readonly<Record<string, unknown>>): void => {
      const given = entry[field];
      const names = Array.isArray(given) ? given : [given];
      if (names.length === 0 || names.some((name) => typeof name !== 'string' || name === '')) throw new HarnessInputError(`${at}: field "${field}" must be "*", an implementation or a list of them`);
      for (const name of names) if (name !== '*' && !known[name]) throw new HarnessInputError(`${at}: field "${field}": unknown implementation ${JSON.stringify(name)}`);
    };
    implementations('server', SERVERS);
    implementations('client', CLIENTS);
    const insteadOf = Array.isArray(entry.instead_of) ? entry.instead_of : [entry.instead_of];
    if (insteadOf.length === 0) throw new HarnessInputError(`${at}: field "instead_of" must name at least one expectation`);
    insteadOf.forEach((pattern: Record<string, unknown>, n) => {
      const here = `${at}: field "instead_of"${insteadOf.length > 1 ? `[${n}]` : ''}`;
      if (typeof pattern !== 'object' || pattern === null) throw new HarnessInputError(`${here} must be an object such as {"check": "outcome", "reason": ["unknown_ca"]}`);
      if (!(CHECKS as readonly unknown[]).includes(pattern.check)) throw new HarnessInputError(`${here}.check must be one of ${CHECKS.join(', ')}`);
      for (const [field, values] of Object.entries(pattern)) {
        if (field === 'check') continue;
        if (!(EXPECTATION_FIELDS as readonly string[]).includes(field)) throw new HarnessInputError(`${here}.${field} is not one of ${EXPECTATION_FIELDS.join(', ')}`);
        if (!Array.isArray(values)) throw new HarnessInputError(`${here}.${field} must be a list of values`);
      }
    });
    const happens = entry.happens as Record<string, unknown>;
    if (typeof happens !== 'object' || happens === null) throw new HarnessInputError(`${at}: field "happens" must be an object`);
    for (const [field, values] of Object.entries(happens)) {
      if (!(FIELDS as readonly string[]).includes(field)) throw new HarnessInputError(`${at}: field "happens.${field}" is not one of ${FIELDS.join(', ')}`);
      if (!Array.isArray(values)) throw new HarnessInputError(`${at}: field "happens.${field}" must be a list of values`);
    }
    if (entry.given !== undefined) {
      const given = entry.given as Record<string, unknown>;
      if (typeof given !== 'object' || given === null) throw new HarnessInputError(`${at}: field "given" must be an object such as {"server.certfile": ["cn-only"]}`);
      for (const [key, values] of Object.entries(given)) {
        if (!/^(server|client)\.\w+$/.test(key)) throw new HarnessInputError(`${at}: field "given.${key}" must name a setting as server.<setting> or client.<setting>`);
        if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw new HarnessInputError(`${at}: field "given.${key}" must be a list of values`);
      }
    }
    text('reason');
    return { ...entry, instead_of: insteadOf } as unknown as Deviation;
  });
}

let loaded: Deviation[] | undefined;

export function deviations(): readonly Deviation[] {
  if (!loaded) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(DEVIATIONS_FILE, 'utf8'));
    } catch (error) {
      throw new HarnessInputError(`features/deviations.json: ${(error as Error).message}`);
    }
    loaded = validateDeviations(raw);
  }
  return loaded;
}

/** Whether a deviation's "server" or "client" field names this implementation. */
export function names(field: string | readonly string[], implementation: string): boolean {
  return typeof field === 'string' ? field === '*' || field === implementation : field.includes(implementation);
}

/** Whether the deviation is about this expectation, under these rules (whatever the pair). */
export function deviationReplaces(deviation: Deviation, ruleIds: readonly string[], expectation: Expectation): boolean {
  return deviation.rules.some((rule) => ruleIds.includes(rule)) && deviation.instead_of.some((pattern) => matchesExpectation(pattern, expectation));
}

/** The combination's settings as the reports name them ("server.certfile" → "cn-only"), for `given`. */
export type SettingLabels = Readonly<Record<string, string>>;

function givenHolds(deviation: Deviation, settings: SettingLabels | undefined): boolean {
  if (!deviation.given) return true;
  return Object.entries(deviation.given).every(([key, values]) => settings?.[key] !== undefined && values.includes(settings[key]!));
}

/** The deviations listed for this expectation of this pair under these rules (and these settings, where a deviation names some). */
export function findDeviations(ruleIds: readonly string[], server: string, client: string, expectation: Expectation, settings?: SettingLabels): Deviation[] {
  return deviations().filter(
    (d) => names(d.server, server) && names(d.client, client) && deviationReplaces(d, ruleIds, expectation) && givenHolds(d, settings),
  );
}

/** The first deviation listed for this expectation of this pair under these rules, if any. */
export function findDeviation(ruleIds: readonly string[], server: string, client: string, expectation: Expectation, settings?: SettingLabels): Deviation | undefined {
  return findDeviations(ruleIds, server, client, expectation, settings)[0];
}

/**
 * The deviations that match no expectation the run produced for a pair they
 * name: listed for nothing. Deviations about implementations or rules the run
 * did not include are not judged.
 */
export function unmatchedDeviations(
  checks: Iterable<{ readonly rules: readonly string[]; readonly server: string; readonly client: string; readonly expectation?: Expectation; readonly settings?: SettingLabels }>,
  run: { readonly servers: readonly string[]; readonly clients: readonly string[]; readonly rules: readonly string[] },
): Deviation[] {
  const all = [...checks];
  return deviations().filter((d) => {
    if (!run.servers.some((s) => names(d.server, s)) || !run.clients.some((c) => names(d.client, c))) return false;
    if (!d.rules.some((rule) => run.rules.includes(rule))) return false;
    return !all.some((c) => c.expectation && names(d.server, c.server) && names(d.client, c.client) && deviationReplaces(d, c.rules, c.expectation) && givenHolds(d, c.settings));
  });
}

function fieldValue(outcome: Outcome, field: (typeof FIELDS)[number]): string | null {
  if (field === 'alert') return outcome.alert ? outcome.alert.name : null;
  return outcome[field];
}

/** Whether what happened is what the deviation says happens instead. */
export function deviationHappens(deviation: Deviation, outcome: Outcome): boolean {
  return Object.entries(deviation.happens).every(([field, values]) => (values ?? []).includes(fieldValue(outcome, field as (typeof FIELDS)[number])));
}
