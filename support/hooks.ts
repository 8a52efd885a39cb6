/**
 * Hooks: load the PKI once per process, label each scenario with its rules,
 * attach its attempt for the reports, fail a scenario that attempted a
 * connection and asserted nothing about it, and close every server at the end.
 */
import { After, AfterAll, Before, BeforeAll, Status } from '@cucumber/cucumber';
import { HarnessInputError } from './errors';
import { loadPki } from './pki';
import { CLIENTS } from './peers/registry';
import { describeOutcome } from './outcome/classify';
import { ATTEMPT_MEDIA_TYPE, describeClientSettings, describeServerSettings, refusalText, type AttemptRecord } from './report/attempt-record';
import { closeAllServers } from './server-pool';
import type { ConformanceWorld } from './world';

BeforeAll(async function () {
  await loadPki();
});

Before(function (this: ConformanceWorld, { pickle }) {
  this.ruleIds = pickle.tags.map((tag) => tag.name).filter((name) => name.startsWith('@rule:')).map((name) => name.slice('@rule:'.length));
});

After(async function (this: ConformanceWorld, { result }) {
  if (!this.attempted) return;
  const record: AttemptRecord = {
    server: {
      implementation: this.serverImplementation.name,
      version: await this.serverImplementation.version(),
      settings: describeServerSettings(this.attempted.server),
    },
    client: {
      implementation: this.clientImplementation.name,
      version: await this.clientImplementation.version(),
      settings: describeClientSettings(this.attempted.client),
    },
    expected: this.expectations.map((e) => e.text),
    held: this.expectations.length > 0 && this.expectations.every((e) => e.held),
    actual: this.outcome ? describeOutcome(this.outcome) : this.refusal ? refusalText(this.refusal) : 'no outcome',
    outcome: this.outcome ?? null,
    refusal: this.refusal ? { field: this.refusal.field, detail: this.refusal.detail, ...(this.refusal.file ? { file: this.refusal.file } : {}) } : null,
  };
  this.attach(JSON.stringify(record), ATTEMPT_MEDIA_TYPE);
  if (result?.status === Status.PASSED && this.expectations.length === 0) {
    // A connection attempt nobody asserted on is a bug in the scenario (cucumber-js's verifiedLastRunError).
    if (this.refusal) throw this.refusal;
    throw new HarnessInputError('the scenario attempted a connection but no Then step asserted anything about its outcome');
  }
});

AfterAll(async function () {
  await closeAllServers();
  await Promise.all(Object.values(CLIENTS).map((client) => client.close?.()));
});
