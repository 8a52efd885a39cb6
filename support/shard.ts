/**
 * `--shard i/n`: which combinations (a scenario or Examples row × a server ×
 * client pair) a shard of the catalog runs. A pure function of the
 * combination's key, `location|server|client` (the key matrix rows have), so
 * the same i/n picks the same combinations on any machine, at any speed, with
 * any number of workers, and every combination is in exactly one shard.
 */

export interface Shard {
  /** 1-based: 1 ≤ index ≤ count. */
  readonly index: number;
  readonly count: number;
}

/** What a scenario attaches when the shard left none of its pairs (so it is not reported as skipped). */
export const SHARD_OUT_MEDIA_TYPE = 'application/vnd.tls-conformance.shard-out+json';

/** 32-bit FNV-1a over the UTF-8 bytes. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard (1..count) a combination belongs to. */
export function shardOf(location: string, server: string, client: string, count: number): number {
  return (fnv1a(`${location}|${server}|${client}`) % count) + 1;
}

/** `i/n` with 1 ≤ i ≤ n, or null when it is not that. */
export function parseShard(text: string): Shard | null {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) return null;
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) return null;
  return { index, count };
}
