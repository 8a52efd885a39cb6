/**
 * `node --require ./scripts/register-ts.js`: what `ts-node/register/transpile-only`
 * does for this project's .ts files (TypeScript's transpileModule to CommonJS,
 * no type check: `npm run typecheck` does that), with each file's output kept
 * in node_modules/.cache/tls-conformance/ts, keyed by a hash of the file's
 * path and text and of the compiler's version and options. A start whose files
 * did not change neither loads TypeScript nor transpiles anything (under
 * ts-node that is ~1 s of CPU in every process, and a run starts one per core
 * and one more). Source maps are inline and Node's source map support is on,
 * so a stack trace names the .ts file and line.
 */
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'tls-conformance', 'ts');
const TYPESCRIPT_VERSION = require('typescript/package.json').version;
const OPTIONS = { module: 'commonjs', target: 'es2022', esModuleInterop: true, inlineSourceMap: true, inlineSources: false };
const RECIPE = JSON.stringify([TYPESCRIPT_VERSION, OPTIONS, 'v1']);

// TypeScript and its options are loaded only when a file must be transpiled, once.
let ts;
let compilerOptions;
function transpile(source, filename) {
  ts ??= require('typescript');
  compilerOptions ??= ts.convertCompilerOptionsFromJson(OPTIONS, ROOT).options;
  return ts.transpileModule(source, { compilerOptions, fileName: filename }).outputText;
}

process.setSourceMapsEnabled(true);

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const source = readFileSync(filename, 'utf8');
  const key = createHash('sha256').update(RECIPE).update('\0').update(filename).update('\0').update(source).digest('hex');
  const cached = join(CACHE, `${key.slice(0, 2)}`, `${key}.js`);
  let code;
  try {
    code = readFileSync(cached, 'utf8');
  } catch {
    code = transpile(source, filename);
    try {
      mkdirSync(join(CACHE, key.slice(0, 2)), { recursive: true });
      const partial = `${cached}.${process.pid}.tmp`;
      writeFileSync(partial, code);
      renameSync(partial, cached); // atomic: workers starting together may both write it
    } catch {
      /* a cache that cannot be written only costs the next start its transpiling */
    }
  }
  module._compile(code, filename);
};
