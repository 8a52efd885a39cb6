/** Entry point of `npm run conformance`: see support/cli/run.ts. */
import { exitCleanlyOnSignals } from '../support/cli/interrupt';
import { runConformance } from '../support/cli/run';

exitCleanlyOnSignals(() => process.stderr.write('\nconformance: interrupted\n'));

runConformance(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`conformance: harness error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
