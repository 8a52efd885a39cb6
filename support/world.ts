/**
 * The World: one per scenario, holding plain settings in the documents'
 * vocabulary, the attempt's outcome, and what the Then steps expected of it.
 * Steps fill it; support/ does the work.
 */
import { setWorldConstructor, World, type IWorldOptions } from '@cucumber/cucumber';
import { attemptConnection } from './attempt';
import { ConfigurationError } from './errors';
import type { Outcome } from './outcome/vocabulary';
import { clientImplementation, DEFAULT_CLIENT_IMPLEMENTATION, DEFAULT_SERVER_IMPLEMENTATION, serverImplementation } from './peers/registry';
import { acquireServer } from './server-pool';
import { DEFAULT_CLIENT, DEFAULT_SERVER, type ClientSettings, type ServerSettings } from './vocabulary';

export interface WorldParameters {
  readonly server?: string;
  readonly client?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class ConformanceWorld extends World<WorldParameters> {
  server: Mutable<ServerSettings> = { ...DEFAULT_SERVER };
  client: Mutable<ClientSettings> = { ...DEFAULT_CLIENT };
  readonly serverImplementation = serverImplementation(this.parameters.server ?? DEFAULT_SERVER_IMPLEMENTATION);
  readonly clientImplementation = clientImplementation(this.parameters.client ?? DEFAULT_CLIENT_IMPLEMENTATION);

  /** The outcome of the scenario's connection attempt. */
  outcome: Outcome | undefined;
  /** The server refused its configuration; a Then step may expect exactly that. */
  refusal: ConfigurationError | undefined;
  /** Settings as they were when the client connected, for the report. */
  attempted: { server: ServerSettings; client: ClientSettings } | undefined;
  /** The `@rule:` ids of the running scenario (set by a Before hook). */
  ruleIds: readonly string[] = [];
  /** What the Then steps expected, in their words, and whether it held. */
  readonly expectations: { text: string; held: boolean }[] = [];

  constructor(options: IWorldOptions<WorldParameters>) {
    super(options);
  }

  async connect(): Promise<void> {
    this.attempted = { server: { ...this.server }, client: { ...this.client } };
    let server;
    try {
      server = await acquireServer(this.serverImplementation, this.server);
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      this.refusal = error;
      return;
    }
    this.outcome = await attemptConnection(server, this.clientImplementation, this.client);
  }

  /** The outcome a Then step asserts on. A server that refused its configuration is broken input here. */
  requireOutcome(): Outcome {
    if (this.refusal) throw this.refusal;
    if (!this.outcome) throw new Error('no connection was attempted: a "When the client connects" step must come first');
    return this.outcome;
  }
}

setWorldConstructor(ConformanceWorld);
