/**
 * Hooks: load the PKI once per process, read each scenario's rule and scope
 * tags, attach each pair's attempt for the reports, fail a scenario that
 * attempted a connection and asserted nothing about it, and stop every
 * server and process at the end, failed run or not.
 */
import { After, AfterAll, Before, BeforeAll, setDefaultTimeout, Status } from '@cucumber/cucumber';
import { HarnessInputError } from './errors';
import { loadPki } from './pki';
import { CLIENTS } from './peers/registry';
import { closeGoPeer } from './peers/go';
import { closePythonPeer } from './peers/python-peer';
import { stopAllProcesses } from './processes';
import { ATTEMPT_MEDIA_TYPE, attemptRecord } from './report/attempt-record';
import { closeAllServers, closeScenarioServers } from './server-pool';
import type { ConformanceWorld } from './world';

// One step attempts every pair of the scenario, and an attempt may rightly wait out its client's timeout (5 s by
// default): Cucumber's own 5 s step limit would end such a step on a loaded machine before its attempts had ended.
setDefaultTimeout(30_000);

BeforeAll(async function () {
  await loadPki();
});

Before(function (this: ConformanceWorld, { pickle }) {
  const tags = pickle.tags.map((tag) => tag.name);
  const valuesOf = (prefix: string): string[] => tags.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length));
  this.ruleIds = valuesOf('@rule:');
  this.scope = { servers: valuesOf('@server:'), clients: valuesOf('@client:') };
  this.scenarioId = pickle.id;
  this.location = `${pickle.uri}:${pickle.location?.line ?? 0}`;
});

After(async function (this: ConformanceWorld) {
  await closeScenarioServers(this.scenarioId);
});

After(async function (this: ConformanceWorld, { result }) {
  if (!this.attempted) return;
  for (const attempt of this.attempts) this.attach(JSON.stringify(attemptRecord(attempt, this.attempted)), ATTEMPT_MEDIA_TYPE);
  if (result?.status === Status.PASSED && this.attempts.every((attempt) => attempt.checks.length === 0)) {
    // A connection attempt nobody asserted on is a bug in the scenario (cucumber-js's verifiedLastRunError).
    const refusal = this.attempts.find((attempt) => attempt.refusal)?.refusal;
    if (refusal) throw refusal;
    throw new HarnessInputError('the scenario attempted a connection but no Then step asserted anything about its outcome');
  }
});

AfterAll(async function () {
  await closeAllServers();
  await Promise.all(Object.values(CLIENTS).map((client) => client.close?.()));
  await Promise.all([closePythonPeer(), closeGoPeer()]);
  await stopAllProcesses();
});
