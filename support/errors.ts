/**
 * The two kinds of error the harness distinguishes from a rule violation.
 *
 * - `HarnessInputError`: the input is broken (an unknown certificate profile, an
 *   unknown `cert_reqs` value, a missing file). The run exits 2 with one line.
 * - `ConfigurationError`: a peer refused its configuration (no keyfile, a key
 *   that does not match its certificate, `ssl_version` given as a string). A
 *   scenario may expect it (rule `one-way.server-needs-cert-and-key`); when no
 *   step expects it, it is reported as broken input, naming the field.
 *
 * Both carry their whole meaning in `message`, because that is all that crosses
 * from a Cucumber worker to the command line.
 */
import { isAbsolute, relative } from 'node:path';

export class HarnessInputError extends Error {
  override readonly name = 'HarnessInputError';
}

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  /** A client refused its settings after it had opened the TCP connection (curl sets its cipher list then). */
  afterConnecting?: boolean;
  constructor(
    /** The setting in the documents' vocabulary: `keyfile`, `cert_reqs`, `ssl_version`... */
    readonly field: string,
    readonly detail: string,
    /** The file the setting names, when it names one. */
    readonly file?: string,
  ) {
    super(`${field}${file ? ` (${shortPath(file)})` : ''}: ${detail}`);
  }
}

/**
 * A setting the implementation does not implement (or not at this value): the
 * combination is not run and its cell says "not supported by <implementation>:
 * <setting>". Not a refusal of the configuration the rule is about.
 */
export class UnsupportedSetting extends ConfigurationError {
  override readonly name = 'UnsupportedSetting' as 'ConfigurationError';
  constructor(
    readonly implementation: string,
    field: string,
    /** Why, when the setting is declared but this value cannot be expressed exactly. */
    why?: string,
  ) {
    super(field, `not supported by ${implementation}: ${field}${why ? ` (${why})` : ''}`);
  }
}

/** A path as a person typed it: relative to the working directory when it is inside it. */
export function shortPath(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
