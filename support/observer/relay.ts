/**
 * A passive observer: a TCP relay between the client and the server that
 * records every byte in both directions and changes none. What it recorded
 * is what anyone on the path could record.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Recording {
  readonly client: { readonly address: string; readonly port: number };
  readonly server: { readonly address: string; readonly port: number };
  readonly clientToServer: Buffer;
  readonly serverToClient: Buffer;
  /** The connection was still open when the recording was taken (a client that keeps it alive, such as a browser). */
  readonly openWhenTaken?: boolean;
}

export class Relay {
  /** Each connection's recording once it closed, and what crossed it so far. */
  private readonly recordings: { readonly closed: Promise<Recording>; readonly sofar: () => Recording }[] = [];

  private constructor(
    private readonly listener: Server,
    readonly port: number,
  ) {}

  /** Listen on 127.0.0.1, port 0, and pass every connection on to 127.0.0.1:`targetPort`. */
  static start(targetPort: number): Promise<Relay> {
    return new Promise((resolve, reject) => {
      let relay!: Relay;
      const listener = createServer({ allowHalfOpen: true }, (downstream) => relay.relay(downstream, targetPort));
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => {
        relay = new Relay(listener, (listener.address() as AddressInfo).port);
        resolve(relay);
      });
    });
  }

  private relay(downstream: Socket, targetPort: number): void {
    const upstream = connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
    const client = { address: downstream.remoteAddress ?? '?', port: downstream.remotePort ?? 0 };
    const fromClient: Buffer[] = [];
    const fromServer: Buffer[] = [];
    const sofar = (): Recording => ({
      client,
      server: { address: '127.0.0.1', port: targetPort },
      clientToServer: Buffer.concat(fromClient),
      serverToClient: Buffer.concat(fromServer),
    });
    this.recordings.push({
      sofar,
      closed: new Promise((resolve) => {
        let open = 2;
        const finish = (): void => {
          if (--open === 0) resolve(sofar());
        };
        downstream.once('close', finish);
        upstream.once('close', finish);
      }),
    });
    downstream.on('data', (chunk: Buffer) => {
      fromClient.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      fromServer.push(chunk);
      downstream.write(chunk);
    });
    // Half-closes and resets pass through as they came.
    downstream.on('end', () => upstream.end());
    upstream.on('end', () => downstream.end());
    downstream.on('error', () => upstream.resetAndDestroy());
    upstream.on('error', () => downstream.resetAndDestroy());
  }

  /**
   * The recording of the oldest connection not taken yet, once both sides
   * closed; after `timeoutMs`, what crossed it so far (the attempt is over:
   * its request and answer have crossed), marked as taken while open.
   */
  async take(timeoutMs = 2000): Promise<Recording | null> {
    const next = this.recordings.shift();
    if (!next) return null;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([next.closed, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)))]);
    clearTimeout(timer);
    return result ?? { ...next.sofar(), openWhenTaken: true };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.listener.close(() => resolve()));
  }
}
