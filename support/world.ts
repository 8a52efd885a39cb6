/**
 * The World: one per scenario, holding plain settings in the documents'
 * vocabulary, the implementation pairs the run covers, and what each pair's
 * attempt gave. Steps fill it; support/ does the work.
 */
import { setWorldConstructor, World, type IWorldOptions } from '@cucumber/cucumber';
import { attemptPairs, connectAndCloseBare, type Pair, type PairAttempt } from './pairs';
import type { Chosen } from './peers/registry';
import { SHARD_OUT_MEDIA_TYPE, shardOf, type Shard } from './shard';
import { DEFAULT_CLIENT, DEFAULT_SERVER, type ClientSettings, type ServerSettings } from './vocabulary';

export interface WorldParameters {
  /** The server and client implementations of the run, with their versions (set by the command line). */
  readonly servers?: readonly Chosen[];
  readonly clients?: readonly Chosen[];
  /** `--shard i/n`: only the pairs whose combination falls in this shard. */
  readonly shard?: Shard;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NODE_VERSION = `Node ${process.versions.node}, OpenSSL ${process.versions.openssl}`;
const FALLBACK_SERVERS: readonly Chosen[] = [{ name: 'node', version: NODE_VERSION }];
const FALLBACK_CLIENTS: readonly Chosen[] = [{ name: 'axios', version: NODE_VERSION }];

export class ConformanceWorld extends World<WorldParameters> {
  server: Mutable<ServerSettings> = { ...DEFAULT_SERVER };
  client: Mutable<ClientSettings> = { ...DEFAULT_CLIENT };
  /** The `@rule:` ids of the running scenario (set by a Before hook). */
  ruleIds: readonly string[] = [];
  /** `@server:<name>` / `@client:<name>` tags: the scenario is about these implementations only. */
  scope: { servers: readonly string[]; clients: readonly string[] } = { servers: [], clients: [] };
  /** Settings as they were when the clients connected, for the report. */
  attempted: { server: ServerSettings; client: ClientSettings } | undefined;
  /** One attempt per implementation pair. */
  attempts: PairAttempt[] = [];
  /** The pickle id: servers that must not outlive the scenario are kept under it. */
  scenarioId = '';
  /** `uri:line` of the scenario or Examples row, as the matrix rows say it (set by a Before hook). */
  location = '';
  /** A passive observer records each connection between client and server. */
  observing = false;

  constructor(options: IWorldOptions<WorldParameters>) {
    super(options);
  }

  /** The pairs this scenario runs: the run's, narrowed by the scenario's scope tags and by --shard. */
  pairs(): Pair[] {
    const inScope = (names: readonly string[]) => (chosen: Chosen) => names.length === 0 || names.includes(chosen.name);
    const servers = (this.parameters.servers ?? FALLBACK_SERVERS).filter(inScope(this.scope.servers));
    const clients = (this.parameters.clients ?? FALLBACK_CLIENTS).filter(inScope(this.scope.clients));
    const pairs = servers.flatMap((server) => clients.map((client) => ({ server, client })));
    const shard = this.parameters.shard;
    if (!shard) return pairs;
    const mine = pairs.filter((pair) => shardOf(this.location, pair.server.name, pair.client.name, shard.count) === shard.index);
    // Every pair is another shard's: the scenario is skipped here, but it is not about implementations this run lacks.
    if (pairs.length > 0 && mine.length === 0) this.attach(JSON.stringify({ location: this.location }), SHARD_OUT_MEDIA_TYPE);
    return mine;
  }

  async connect(pairs: readonly Pair[]): Promise<void> {
    this.attempted = { server: { ...this.server }, client: { ...this.client } };
    this.attempts = await attemptPairs(pairs, this.server, this.client, this.scenarioId, { observe: this.observing });
  }

  async connectAndCloseBare(pairs: readonly Pair[]): Promise<void> {
    await connectAndCloseBare(pairs, this.server, this.scenarioId);
  }
}

setWorldConstructor(ConformanceWorld);
