/**
 * What an adapter implements of the documents' vocabulary, declared as a list
 * of settings: a setting given (and not at the value that asks for nothing)
 * that the adapter does not declare is refused by name, never dropped in
 * silence. The first step toward every adapter declaring its settings.
 */
import { UnsupportedSetting } from '../errors';

export function refuseUndeclared(implementation: string, settings: object, declared: readonly string[], harmless: Readonly<Record<string, unknown>>): void {
  for (const [field, value] of Object.entries(settings)) {
    if (value === undefined || declared.includes(field)) continue;
    if (field in harmless && harmless[field] === value) continue;
    throw new UnsupportedSetting(implementation, field);
  }
}
