/** The marks every report uses for a verdict, and HTML escaping. */
export type Verdict = 'as expected' | 'expected deviation' | 'violated' | 'not checked' | 'not supported' | 'broken input' | 'harness error' | 'skipped';

export const SYMBOL: Readonly<Record<Verdict, string>> = {
  'as expected': '✔',
  'expected deviation': '≈',
  violated: '✘',
  'not checked': '?',
  'not supported': '–',
  'broken input': '⚠',
  'harness error': '⚠',
  skipped: '–',
};

export function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
