/**
 * The names an endpoint is asked for by SNI: the exact names the file
 * writes, then a name for each pattern (`*.example.test`, `.example.test`,
 * `www.example.*`, `~^api\d+\.example\.test$`) from `hostnames:` when one
 * matches it, else, for a leading wildcard, a made-up label under it.
 */

/** Whether a concrete host name is one a pattern (nginx/Apache style) serves. */
export function patternMatches(pattern: string, name: string): boolean {
  const lower = name.toLowerCase();
  const p = pattern.toLowerCase();
  if (p.startsWith('~')) {
    try {
      return new RegExp(pattern.slice(1), 'i').test(name);
    } catch {
      return false;
    }
  }
  if (p.startsWith('.')) return lower === p.slice(1) || lower.endsWith(p);
  if (!p.includes('*') && !p.includes('?')) return lower === p;
  const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(lower);
}

export function isPattern(name: string): boolean {
  return name.startsWith('~') || name.startsWith('.') || /[*?]/.test(name);
}

/** The label the gate makes up under a leading wildcard that hostnames: does not instantiate. */
export const MADE_UP_LABEL = 'tls-conformance-check';

export function endpointNames(written: readonly string[], hostnames: readonly string[]): { names: string[]; patterns: string[] } {
  const names: string[] = [];
  const patterns: string[] = [];
  const add = (n: string): void => {
    if (!names.some((x) => x.toLowerCase() === n.toLowerCase())) names.push(n);
  };
  for (const name of written) if (!isPattern(name)) add(name);
  for (const name of written.filter(isPattern)) {
    const given = hostnames.filter((h) => patternMatches(name, h));
    if (given.length) given.forEach(add);
    else if (/^\*\.|^\./.test(name)) add(`${MADE_UP_LABEL}.${name.replace(/^\*?\./, '')}`);
    else patterns.push(name);
  }
  return { names, patterns };
}

/** The programs whose own configuration files the gate runs. */
export const CONFIG_IMPLEMENTATIONS = ['nginx', 'apache', 'haproxy'] as const;
export type ConfigImplementation = (typeof CONFIG_IMPLEMENTATIONS)[number];
