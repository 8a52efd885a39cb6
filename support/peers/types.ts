/**
 * The seam every implementation plugs into: a server adapter and a client
 * adapter, each taking the documents' vocabulary and reporting what its own
 * end saw, raw. Classification into the one outcome vocabulary happens
 * elsewhere (support/outcome), from both ends' observations together.
 */
import type { ClientSettings, ServerSettings } from '../vocabulary';

/** A raw error as one end reported it: kept verbatim as evidence. */
export interface RawError {
  readonly code?: string;
  readonly message: string;
}

export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom?: string;
  readonly validTo?: string;
  readonly subjectAltName?: string;
}

/** What the server end saw of one connection. */
export interface ServerObservation {
  /** The TCP connection reached the server. */
  readonly accepted: boolean;
  /** The server finished its side of the handshake. */
  readonly handshakeCompleted: boolean;
  readonly protocol: string | null;
  readonly cipher: string | null;
  /** The certificate the client presented, or null when it presented none. */
  readonly clientCertificate: CertificateSummary | null;
  /** Why the server's verification of the client certificate failed, as the implementation says it. */
  readonly verificationError: string | null;
  /** The server refused the client, with the implementation's own error. */
  readonly rejection: RawError | null;
  /** Any other error the server end reported (the client leaving, a reset). */
  readonly errors: readonly RawError[];
  /** HTTP requests the server answered on this connection. */
  readonly requests: readonly { readonly method: string; readonly path: string; readonly status: number }[];
  /** Settings as the implementation reports them in effect (for example Python's `verify_mode`). */
  readonly effective?: Readonly<Record<string, string>>;
}

/** A server observation for a connection the server never saw. */
export const NOT_ACCEPTED: ServerObservation = {
  accepted: false, handshakeCompleted: false, protocol: null, cipher: null, clientCertificate: null,
  verificationError: null, rejection: null, errors: [], requests: [],
};

/** What the client end saw of one attempt. */
export interface ClientObservation {
  readonly localPort: number | null;
  readonly handshakeCompleted: boolean;
  readonly protocol: string | null;
  readonly cipher: string | null;
  /** "ECDH X25519", "RSA key transport"... */
  readonly keyExchange: string | null;
  /** "none", or the method, when the client reports it (Python, openssl s_client); null when it cannot tell. */
  readonly compression?: string | null;
  /** The application protocol agreed by ALPN, or null for none. */
  readonly alpn?: string | null;
  readonly sessionReused: boolean;
  readonly serverCertificate: CertificateSummary | null;
  /** Whether the client verified the server at all (`verify=False` does not). */
  readonly verified: boolean;
  readonly response: { readonly status: number; readonly body: string } | null;
  /** The TLS-level error the client's socket raised, if any. */
  readonly socketError: RawError | null;
  /** The error the HTTP client library raised, if any. */
  readonly requestError: RawError | null;
  /** An error raised after the response had begun (at its end: a ragged EOF, a reset). */
  readonly endError?: RawError | null;
  readonly timedOut: boolean;
}

export interface RunningServer {
  readonly implementation: string;
  readonly host: string;
  readonly port: number;
  /**
   * What the server saw of the connection from `clientPort` (or, when the
   * client cannot tell its port, of the oldest connection not observed yet:
   * attempts on one server are made one after another), once the server is
   * done with it or `settleMs` has passed.
   */
  observe(clientPort: number | null, settleMs?: number): Promise<ServerObservation>;
  close(): Promise<void>;
}

/** Whether an implementation can run on this machine: its version, or how to install it. */
export type Availability =
  | { readonly available: true; readonly version: string }
  | { readonly available: false; readonly hint: string };

interface Implementation {
  readonly name: string;
  /** One line: what this implementation is, in the documents' terms. */
  readonly summary: string;
  detect(): Promise<Availability>;
}

export interface ServerImplementation extends Implementation {
  /**
   * The settings of the documents' vocabulary this implementation implements.
   * A scenario that gives another one (at a value that asks for something) is
   * not run on it: its cell says "not supported by <name>: <setting>". The
   * adapter never receives an undeclared setting (support/peers/declared.ts).
   */
  readonly supports: readonly (keyof ServerSettings)[];
  /** Start a server; throws ConfigurationError when the implementation refuses the settings. */
  start(settings: ServerSettings): Promise<RunningServer>;
  /** False for servers a scenario may break (document 000's as written): those are never shared between scenarios. */
  reusable?(settings: ServerSettings): boolean;
}

export interface ClientTarget {
  readonly host: string;
  readonly port: number;
}

export interface ClientImplementation extends Implementation {
  /** As a server's `supports`, for the client's settings. */
  readonly supports: readonly (keyof ClientSettings)[];
  /** One fresh connection and one `GET /`: never a reused socket or session. */
  attempt(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation>;
  /** Release anything kept between attempts (processes, pools). */
  close?(): Promise<void>;
  /**
   * Servers this client cannot meet, whatever its own settings: the reason, or
   * undefined. The pair's cell is then "not supported by <client>: <reason>"
   * (Chromium and a server that asks for a client certificate).
   */
  unsupportedServer?(server: ServerSettings): string | undefined;
  /**
   * Get ready for attempts with these settings while other work goes on (Chromium launches the browser they need).
   * Called with the declared view, never awaited; a failure is the attempt's to report.
   */
  prepare?(settings: ClientSettings): void;
}

/** Keep an error as evidence: its code and its message, nothing else. */
export function rawError(error: unknown): RawError {
  const e = error as NodeJS.ErrnoException | undefined;
  return { ...(e?.code ? { code: e.code } : {}), message: String(e?.message ?? error).trim() };
}
