/** The PKI as the steps see it: profiles by name, and names for paths in reports. */
import { relative } from 'node:path';
import { HarnessInputError } from '../errors';
import { PROFILE_NAMES } from './catalog';
import { ensurePki, PROJECT_ROOT, type Pki, type ProfileFiles } from './store';

let pki: Pki | undefined;

export async function loadPki(): Promise<Pki> {
  pki ??= await ensurePki();
  return pki;
}

export function profileFiles(name: string): ProfileFiles {
  if (!pki) throw new Error('the PKI is not loaded yet (loadPki() runs in a BeforeAll hook)');
  const files = pki.profiles[name];
  if (!files) throw new HarnessInputError(`unknown certificate profile ${JSON.stringify(name)} (known: ${PROFILE_NAMES.join(', ')})`);
  return files;
}

/** "localhost", "client-ca", "localhost (key)": what a report shows instead of a path. Never file contents. */
export function labelFor(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  for (const files of Object.values(pki?.profiles ?? {})) {
    if (files.cert === path) return files.name;
    if (files.key === path) return `${files.name} (key)`;
    if (files.chain === path) return `${files.name} (with chain)`;
  }
  return relative(PROJECT_ROOT, path) || path;
}
