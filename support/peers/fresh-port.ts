/**
 * One connection on a port its client has never used: a relay that listens on
 * 127.0.0.1, takes its first connection only (the listener closes at once,
 * so a second connection is refused, not quietly served), passes every byte
 * to the server unchanged in both directions (half-closes as half-closes,
 * resets as resets, no Nagle delay of its own), and records them.
 *
 * Why: a long-lived client such as a browser keys its socket pool and its TLS
 * session cache by host and port. A port it has never seen can give it
 * neither an idle socket nor a session to resume, so every attempt is one
 * fresh TCP connection and one full handshake, without a fresh browser
 * profile per attempt. `FreshPorts` never hands the same client a port twice.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class FreshPort {
  private readonly fromClient: Buffer[] = [];
  private readonly fromServer: Buffer[] = [];
  private downstream?: Socket;
  private upstream?: Socket;
  private upstreamLocalPort: number | null = null;
  private readonly connectedWaiters: (() => void)[] = [];

  private constructor(
    private readonly listener: Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {
    listener.on('connection', (downstream: Socket) => this.take(downstream));
  }

  static listen(targetPort: number): Promise<FreshPort> {
    return new Promise((resolve, reject) => {
      const listener = createServer({ allowHalfOpen: true, pauseOnConnect: true });
      listener.once('error', reject);
      listener.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => resolve(new FreshPort(listener, (listener.address() as AddressInfo).port, targetPort)));
    });
  }

  private take(downstream: Socket): void {
    if (this.downstream) {
      downstream.resetAndDestroy(); // a second connection, before the listener closed
      return;
    }
    this.listener.close();
    this.downstream = downstream;
    downstream.setNoDelay(true);
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort, allowHalfOpen: true, noDelay: true });
    this.upstream = upstream;
    upstream.once('connect', () => {
      this.upstreamLocalPort = upstream.localPort ?? null;
      for (const wake of this.connectedWaiters.splice(0)) wake();
    });
    downstream.on('data', (chunk: Buffer) => {
      this.fromClient.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      this.fromServer.push(chunk);
      downstream.write(chunk);
    });
    downstream.on('end', () => upstream.end());
    upstream.on('end', () => downstream.end());
    downstream.on('error', () => upstream.resetAndDestroy());
    upstream.on('error', () => {
      for (const wake of this.connectedWaiters.splice(0)) wake();
      downstream.resetAndDestroy();
    });
    downstream.resume();
  }

  /** The port the server sees the connection come from, once the relay reached it (null before, or when it could not). */
  async serverSidePort(waitMs: number): Promise<number | null> {
    if (this.upstreamLocalPort !== null || !this.upstream) return this.upstreamLocalPort;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.connectedWaiters.push(() => (clearTimeout(timer), resolve()));
    });
    return this.upstreamLocalPort;
  }

  /** What crossed so far, each direction. */
  recording(): { clientToServer: Buffer; serverToClient: Buffer } {
    return { clientToServer: Buffer.concat(this.fromClient), serverToClient: Buffer.concat(this.fromServer) };
  }

  /**
   * The attempt is over: the server gets a FIN (what a client closing an idle
   * connection sends), the client's socket is closed.
   */
  close(): void {
    this.listener.close();
    this.upstream?.end();
    this.downstream?.destroy();
  }
}

/** Fresh ports for one client: the same port is never given twice. */
export class FreshPorts {
  private readonly used = new Set<number>();

  async open(targetPort: number): Promise<FreshPort> {
    const refused: FreshPort[] = [];
    try {
      for (;;) {
        const fresh = await FreshPort.listen(targetPort);
        if (!this.used.has(fresh.port)) {
          this.used.add(fresh.port);
          return fresh;
        }
        refused.push(fresh); // kept listening until a new port comes, so the system cannot hand it back at once
      }
    } finally {
      for (const port of refused) port.close();
    }
  }
}
