/**
 * The documents' vocabulary, and nothing else: servers are configured the way
 * document 000 configures `ssl.wrap_socket`, clients the way it calls
 * `requests.request`. Every implementation adapter translates from these types.
 */
import { HarnessInputError } from './errors';

export const CERT_REQS = ['CERT_NONE', 'CERT_OPTIONAL', 'CERT_REQUIRED'] as const;
export type CertReqs = (typeof CERT_REQS)[number];

/** Python's `ssl.PROTOCOL_*` constants. */
export const SSL_VERSIONS = [
  'PROTOCOL_TLS',
  'PROTOCOL_SSLv23',
  'PROTOCOL_TLS_SERVER',
  'PROTOCOL_TLS_CLIENT',
  'PROTOCOL_TLSv1',
  'PROTOCOL_TLSv1_1',
  'PROTOCOL_TLSv1_2',
] as const;
export type SslVersion = (typeof SSL_VERSIONS)[number];

/** Python's `ssl.TLSVersion` members, as used by `minimum_version` / `maximum_version`. */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** How TLS libraries and programs name each version on the wire and in their settings ("TLSv1.2"). */
export const PROTOCOL_NAME: Record<TlsVersion, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'> = {
  TLSv1: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

export interface ServerSettings {
  /** Path of the server certificate (PEM; may hold the key too, as in Python). */
  readonly certfile?: string;
  /** Path of the private key; when absent, the key is read from certfile. */
  readonly keyfile?: string;
  /** Absent: left at the implementation's default (Python's SSLContext keeps CERT_NONE for a server). */
  readonly cert_reqs?: CertReqs;
  /** Path of the CA certificates that client certificates must chain to. */
  readonly ca_certs?: string;
  /**
   * `ssl_version` exactly as a Python program would write it: a constant such
   * as `ssl.PROTOCOL_TLSv1_2`, or (document 000's mistake) a string literal
   * such as `"ssl.PROTOCOL_TLSv1_2"`. Checked when the server starts.
   */
  readonly ssl_version: string;
  readonly minimum_version?: TlsVersion;
  readonly maximum_version?: TlsVersion;
  /** OpenSSL cipher list, as `SSLContext.set_ciphers` takes it. */
  readonly ciphers?: string;
  /**
   * Key exchange groups the server accepts, OpenSSL's colon-separated list
   * ("X25519:prime256v1:secp384r1"); Python's `SSLContext.set_ecdh_curve`
   * names one curve for TLS 1.2 only, so the Python servers cannot express it.
   */
  readonly groups?: string;
  /**
   * Whether the server imposes its own suite order (OpenSSL's
   * SSL_OP_CIPHER_SERVER_PREFERENCE; Mozilla's `server_preferred_order`).
   * Absent: the implementation's default (Node and Python impose theirs).
   */
  readonly server_preferred_order?: boolean;
  /**
   * Run document 000's server exactly as written (stdlib ssl.wrap_socket, the
   * process not monkey-patched). Only the python-eventlet server has this form.
   */
  readonly as_written?: boolean;
  /** Application protocols the server agrees to (ALPN, `SSLContext.set_alpn_protocols`). */
  readonly alpn_protocols?: readonly string[];
  /** Document 000's `npn_protocols` (NPN, superseded by ALPN; gone from Python's ssl.wrap_socket). */
  readonly npn_protocols?: readonly string[];
  /**
   * Not a setting of the documents but a way to answer: the response carries
   * no Content-Length and ends with the TCP connection closing, without
   * close_notify (a truncation no client can tell from the end).
   */
  readonly end_without_close_notify?: boolean;
  /** SSLSocket's do_handshake_on_connect (default True); Python servers only. */
  readonly do_handshake_on_connect?: boolean;
  /** How the python-eventlet server wraps its socket: document 000's ssl.wrap_socket, or its SSLContext equivalent. */
  readonly wrap_with?: 'ssl.wrap_socket' | 'SSLContext.wrap_socket';
  /**
   * safe_tls.py's way of building the context: `ssl.create_default_context(Purpose.CLIENT_AUTH, cafile)`
   * with nothing else set. Only an implementation built that way (python-context) declares it.
   */
  readonly context?: 'create_default_context';
}

export interface ClientSettings {
  /** requests' `verify`: a CA file path, `true` for the system store, or `false`. */
  readonly verify: string | boolean;
  /** requests' `cert`: `(cert.pem, key.pem)`; absent for no client certificate. */
  readonly cert?: readonly [certPath: string, keyPath: string];
  /** The name the client means to reach: sent in SNI and matched against the certificate. */
  readonly server_hostname: string;
  /** Seconds, as requests takes it. */
  readonly timeout: number;
  readonly minimum_version?: TlsVersion;
  readonly maximum_version?: TlsVersion;
  readonly ciphers?: string;
  /** The path of the GET request (requests' url path), "/" by default. */
  readonly path?: string;
  /** Extra request headers (requests' `headers`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Application protocols the client offers (ALPN). */
  readonly alpn_protocols?: readonly string[];
  /** SSLSocket's suppress_ragged_eofs (document 000, section 2), for clients built on Python's ssl. */
  readonly suppress_ragged_eofs?: boolean;
  /**
   * Python's ssl.OP_IGNORE_UNEXPECTED_EOF, set in every default context since
   * Python 3.10 with OpenSSL 3: false clears it, so that suppress_ragged_eofs matters again.
   */
  readonly ignore_unexpected_eof?: boolean;
  /** safe_tls.py's client: `ssl.create_default_context(Purpose.SERVER_AUTH, cafile)`; python-context only. */
  readonly context?: 'create_default_context';
}

export const DEFAULT_SERVER: ServerSettings = { ssl_version: 'ssl.PROTOCOL_TLS' };
export const DEFAULT_CLIENT: ClientSettings = { verify: true, server_hostname: 'localhost', timeout: 5 };

function oneOf<T extends string>(field: string, allowed: readonly T[], text: string): T {
  const bare = text.trim().replace(/^ssl\.(TLSVersion\.)?/, '');
  if ((allowed as readonly string[]).includes(bare)) return bare as T;
  throw new HarnessInputError(`${field}: unknown value ${JSON.stringify(text)} (expected one of ${allowed.join(', ')})`);
}

export function parseCertReqs(text: string): CertReqs {
  return oneOf('cert_reqs', CERT_REQS, text);
}

export function parseTlsVersion(field: string, text: string): TlsVersion {
  // Accept the way people say it ("TLS 1.3", "TLSv1.3") besides Python's member name.
  const spoken = /^TLS\s*v?1(?:\.(\d))?$/i.exec(text.trim());
  if (spoken) return oneOf(field, TLS_VERSIONS, spoken[1] && spoken[1] !== '0' ? `TLSv1_${spoken[1]}` : 'TLSv1');
  return oneOf(field, TLS_VERSIONS, text);
}

export type ParsedSslVersion = { readonly constant: SslVersion } | { readonly problem: string };

/** Read `ssl_version` as Python would evaluate it; a string literal is not a protocol constant. */
export function parseSslVersion(text: string): ParsedSslVersion {
  const trimmed = text.trim();
  if (/^(['"]).*\1$/.test(trimmed)) {
    return {
      problem: `is the string ${trimmed}, not a protocol constant: Python raises TypeError; write ${trimmed.slice(1, -1)} without quotes`,
    };
  }
  const bare = trimmed.replace(/^ssl\./, '');
  if ((SSL_VERSIONS as readonly string[]).includes(bare)) return { constant: bare as SslVersion };
  return { problem: `unknown protocol constant ${trimmed} (expected one of ssl.${SSL_VERSIONS.join(', ssl.')})` };
}

/** The lowest and highest TLS version a server may speak, after `ssl_version` and the min/max bounds. */
export function versionRange(constant: SslVersion, minimum?: TlsVersion, maximum?: TlsVersion): { min?: TlsVersion; max?: TlsVersion } {
  const pinned: Partial<Record<SslVersion, TlsVersion>> = {
    PROTOCOL_TLSv1: 'TLSv1',
    PROTOCOL_TLSv1_1: 'TLSv1_1',
    PROTOCOL_TLSv1_2: 'TLSv1_2',
  };
  const pin = pinned[constant];
  if (pin) return { min: pin, max: pin };
  return { ...(minimum ? { min: minimum } : {}), ...(maximum ? { max: maximum } : {}) };
}
