/**
 * Progress while the run goes: a bar redrawn in place on a terminal; in a CI
 * log (not a terminal), a plain line every tenth of the way.
 */
import type { ScenarioResult } from '../report/run-collector';

export class Progress {
  private done_ = 0;
  private failed = 0;
  private skipped = 0;
  private lastLine = -1;
  private readonly tty: boolean;

  constructor(private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) {
    this.tty = Boolean(out.isTTY);
  }

  scenario(result: ScenarioResult, planned: number): void {
    this.done_++;
    if (!result.passed) this.failed++;
    if (result.skipped) this.skipped++;
    const total = Math.max(planned, this.done_);
    const status = `${this.done_}/${total} scenarios, ${this.failed} failed${this.skipped ? `, ${this.skipped} skipped` : ''}`;
    if (this.tty) {
      const width = 30;
      const filled = Math.round((this.done_ / total) * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${status}${result.passed ? '' : `  ✘ ${result.uri}:${result.line}`}\x1b[K`);
      return;
    }
    const tenth = Math.floor((this.done_ / total) * 10);
    if (tenth !== this.lastLine || !result.passed) {
      this.lastLine = tenth;
      this.out.write(`progress: ${status}${result.passed ? '' : ` (✘ ${result.uri}:${result.line})`}\n`);
    }
  }

  done(): void {
    if (this.tty && this.done_) this.out.write('\n');
  }
}
