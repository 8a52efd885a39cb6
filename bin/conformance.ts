/** Entry point of `npm run conformance`: see support/cli/run.ts. */
import { runConformance } from '../support/cli/run';

process.once('SIGINT', () => {
  // Servers live in this process (and in Cucumber's workers, which get the same signal): exiting stops them.
  process.stderr.write('\nconformance: interrupted\n');
  process.exit(130);
});

runConformance(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`conformance: harness error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
