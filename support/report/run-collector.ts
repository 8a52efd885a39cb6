/**
 * Reads the Cucumber message stream (from the coordinator, so it is complete
 * under --parallel) and turns it into scenario results: which rules held,
 * which were violated, which failures are broken input rather than a rule
 * violation, and the attempt each scenario attached.
 */
import type * as messages from '@cucumber/messages';
import { ATTEMPT_MEDIA_TYPE, type AttemptRecord } from './attempt-record';

export type FailureKind = 'violation' | 'input' | 'harness';

export interface ScenarioResult {
  readonly uri: string;
  readonly line: number;
  readonly name: string;
  readonly ruleIds: readonly string[];
  readonly passed: boolean;
  /** Nothing ran: the scenario is about implementations this run does not include. */
  readonly skipped: boolean;
  readonly failure: { readonly kind: FailureKind; readonly where: string; readonly message: string; readonly stack?: string } | null;
  readonly attempts: readonly AttemptRecord[];
}

/** Exception types that are broken input, not a rule violation (support/errors.ts). */
const INPUT_ERRORS = new Set(['HarnessInputError', 'ConfigurationError']);
const VIOLATIONS = new Set(['AssertionError']);

export class RunCollector {
  private readonly lines = new Map<string, number>();
  private readonly pickles = new Map<string, messages.Pickle>();
  private readonly testCases = new Map<string, messages.TestCase>();
  private readonly started = new Map<string, string>(); // testCaseStartedId → testCaseId
  private readonly failures = new Map<string, ScenarioResult['failure']>();
  private readonly statuses = new Map<string, boolean>();
  private readonly skipped = new Set<string>();
  private readonly attempts = new Map<string, AttemptRecord[]>();
  private readonly finished: string[] = [];
  /** How many scenarios the run will execute (known once Cucumber has planned them). */
  get plannedScenarios(): number {
    return this.testCases.size;
  }
  /** Problems found before any scenario ran (unparsable feature files). */
  readonly sourceErrors: string[] = [];
  /** Called with each scenario as it finishes (progress output). */
  onScenarioFinished: (result: ScenarioResult) => void = () => undefined;

  accept(envelope: messages.Envelope): void {
    if (envelope.gherkinDocument) this.indexLines(envelope.gherkinDocument);
    else if (envelope.parseError) {
      const { source, message } = envelope.parseError;
      const text = message.split('\n')[0]!.replace(/^\(\d+:\d+\): /, '');
      this.sourceErrors.push(`${source.uri}${source.location ? `:${source.location.line}` : ''}: not valid Gherkin: ${text}`);
    } else if (envelope.pickle) this.pickles.set(envelope.pickle.id, envelope.pickle);
    else if (envelope.testCase) this.testCases.set(envelope.testCase.id, envelope.testCase);
    else if (envelope.testCaseStarted) this.started.set(envelope.testCaseStarted.id, envelope.testCaseStarted.testCaseId);
    else if (envelope.testStepFinished) this.stepFinished(envelope.testStepFinished);
    else if (envelope.attachment) this.attached(envelope.attachment);
    else if (envelope.testCaseFinished && !envelope.testCaseFinished.willBeRetried) {
      this.finished.push(envelope.testCaseFinished.testCaseStartedId);
      this.onScenarioFinished(this.result(envelope.testCaseFinished.testCaseStartedId));
    }
  }

  results(): ScenarioResult[] {
    return this.finished.map((id) => this.result(id));
  }

  private indexLines(document: messages.GherkinDocument): void {
    const visit = (children: readonly (messages.FeatureChild | messages.RuleChild)[]): void => {
      for (const child of children) {
        const steps = child.background?.steps ?? child.scenario?.steps ?? [];
        for (const step of steps) this.lines.set(step.id, step.location.line);
        if (child.scenario) this.lines.set(child.scenario.id, child.scenario.location.line);
        for (const examples of child.scenario?.examples ?? []) {
          for (const row of examples.tableBody) this.lines.set(row.id, row.location.line);
        }
        if ('rule' in child && child.rule) visit(child.rule.children);
      }
    };
    visit(document.feature?.children ?? []);
  }

  private pickleOf(testCaseStartedId: string): messages.Pickle | undefined {
    const testCase = this.testCases.get(this.started.get(testCaseStartedId) ?? '');
    return testCase ? this.pickles.get(testCase.pickleId) : undefined;
  }

  /** The line a person should look at: the Examples row for an outline, else the scenario. */
  private lineOf(pickle: messages.Pickle): number {
    const [scenarioId, rowId] = pickle.astNodeIds;
    return this.lines.get(rowId ?? '') ?? this.lines.get(scenarioId ?? '') ?? 0;
  }

  private stepFinished(finished: messages.TestStepFinished): void {
    const { status, exception, message } = finished.testStepResult;
    const id = finished.testCaseStartedId;
    if (status === 'PASSED' || status === 'SKIPPED') {
      if (!this.statuses.has(id)) this.statuses.set(id, true);
      if (status === 'SKIPPED') this.skipped.add(id);
      return;
    }
    this.statuses.set(id, false);
    if (this.failures.get(id)) return; // the first failure is the one that matters
    const pickle = this.pickleOf(id);
    const testCase = this.testCases.get(this.started.get(id) ?? '');
    const step = testCase?.testSteps.find((s) => s.id === finished.testStepId);
    const pickleStep = pickle?.steps.find((s) => s.id === step?.pickleStepId);
    const stepLine = pickleStep ? this.lines.get(pickleStep.astNodeIds[0] ?? '') : undefined;
    const rowLine = pickle ? this.lines.get(pickle.astNodeIds[1] ?? '') : undefined;
    const where = `${pickle?.uri ?? '?'}:${stepLine ?? (pickle ? this.lineOf(pickle) : 0)}${rowLine ? ` (example at line ${rowLine})` : ''}`;
    let failure: NonNullable<ScenarioResult['failure']>;
    if (status === 'UNDEFINED') {
      failure = { kind: 'input', where, message: `no step definition matches "${pickleStep?.text ?? '?'}"` };
    } else if (status === 'AMBIGUOUS') {
      failure = { kind: 'input', where, message: `more than one step definition matches "${pickleStep?.text ?? '?'}"` };
    } else {
      const type = exception?.type ?? '';
      const text = exception?.message ?? message ?? status;
      const kind: FailureKind = VIOLATIONS.has(type) ? 'violation' : INPUT_ERRORS.has(type) ? 'input' : 'harness';
      failure = { kind, where, message: text.trim(), ...(exception?.stackTrace ? { stack: exception.stackTrace } : {}) };
    }
    this.failures.set(id, failure);
  }

  private attached(attachment: messages.Attachment): void {
    if (attachment.mediaType !== ATTEMPT_MEDIA_TYPE || !attachment.testCaseStartedId) return;
    const list = this.attempts.get(attachment.testCaseStartedId) ?? [];
    list.push(JSON.parse(attachment.body) as AttemptRecord);
    this.attempts.set(attachment.testCaseStartedId, list);
  }

  private result(testCaseStartedId: string): ScenarioResult {
    const pickle = this.pickleOf(testCaseStartedId);
    return {
      uri: pickle?.uri ?? '?',
      line: pickle ? this.lineOf(pickle) : 0,
      name: pickle?.name ?? '?',
      ruleIds: (pickle?.tags ?? []).map((t) => t.name).filter((n) => n.startsWith('@rule:')).map((n) => n.slice(6)),
      passed: this.statuses.get(testCaseStartedId) !== false,
      skipped: this.statuses.get(testCaseStartedId) !== false && this.skipped.has(testCaseStartedId),
      failure: this.failures.get(testCaseStartedId) ?? null,
      attempts: this.attempts.get(testCaseStartedId) ?? [],
    };
  }
}
