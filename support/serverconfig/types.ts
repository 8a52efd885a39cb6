/**
 * A server's own configuration file (nginx, Apache, HAProxy) as the gate
 * reads it: directives with the file and line they were written on
 * (included files too), the TLS endpoints it declares, and the edits that
 * let it run in a sandbox without changing what it says about TLS.
 */

/** One directive as written: `ssl_protocols TLSv1.2 TLSv1.3;` at nginx/nginx.conf:23. */
export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  /** The user's file (absolute path), not the sandbox copy. */
  readonly file: string;
  readonly line: number;
  /** Offsets of the whole directive in the file's text, for line-preserving edits. */
  readonly start: number;
  readonly end: number;
  /** Offsets of each argument, for edits of one argument. */
  readonly argSpans: readonly (readonly [number, number])[];
  /** A block's contents (nginx `server { }`, Apache `<VirtualHost>`, an HAProxy section). */
  readonly children?: Directive[];
  /** For an include: what it brought in, in order. */
  readonly included?: Directive[];
}

/** Where a directive is, or where it would go. */
export interface Located {
  /** The directive's name as the user would write it: `ssl_protocols`, `SSLProtocol`, `bind … ssl-min-ver`. */
  readonly directive: string;
  /** "nginx/nginx.conf:23". */
  readonly where: string;
  /** When the directive is not written and the program's default applies, that default, said in words. */
  readonly missing?: string;
}

/** What the gate changes in the vocabulary's terms; each implementation names its own directive. */
export type Knob = 'versions' | 'ciphers' | 'tls13' | 'groups' | 'order' | 'cert' | 'key' | 'ca' | 'verify' | 'names' | 'hsts' | 'ocsp' | 'dhparam' | 'program';

/** One TLS endpoint of the file: an nginx server block with `listen … ssl`, an Apache SSL virtual host, an HAProxy `bind … ssl`. */
export interface Endpoint {
  /** "server block at nginx/nginx.conf:12 (listen 443 ssl)". */
  readonly label: string;
  /** Short and stable, for reports: "api.example.test:443". */
  readonly id: string;
  /** The exact host names it serves, in order; the first is asked for by SNI. Empty: a catch-all. */
  readonly names: readonly string[];
  /** Names written as patterns (wildcards, regular expressions) that no hostnames: entry instantiated. */
  readonly patterns: readonly string[];
  /**
   * Whether a client that names no host reaches this endpoint (it is the default of its socket). An endpoint with
   * no name to ask for that is not the default cannot be reached, and nothing is claimed about it.
   */
  readonly reachableWithoutName: boolean;
  /** The loopback port the sandbox gives its (first) listen, and what the file wrote. */
  readonly port: number;
  readonly listen: string;
  /** What the file asks of clients' certificates, and where it says so. */
  readonly clientCertificates: { readonly mode: 'none' | 'optional' | 'require'; readonly located: Located };
  /** Where the file says (or would say) what a knob sets, for this endpoint. */
  locate(knob: Knob): Located;
}

/** Something the harness changed to run the file in a sandbox, for the report. */
export interface Change {
  readonly where: string;
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

/** The file read, the sandbox built, and how to run the program on it. */
export interface PreparedConfig {
  readonly implementation: 'nginx' | 'apache' | 'haproxy';
  /** The user's main file (absolute). */
  readonly file: string;
  /** Every file read, main first (absolute, the user's). */
  readonly files: readonly string[];
  readonly endpoints: readonly Endpoint[];
  readonly changes: readonly Change[];
  /** The sandbox directory (removed after the run). */
  readonly directory: string;
  /** The program and its arguments: to test the configuration, and to run it in the foreground. */
  readonly command: string;
  readonly testArgs: readonly string[];
  readonly runArgs: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Every loopback port the program binds (its endpoints' and the others'). */
  readonly ports: readonly number[];
  /** A file the program writes once it is running, if it writes one. */
  readonly pidFile?: string;
  /** TLS files the configuration names (as the program prints them) → the directive's file:line. */
  readonly named?: ReadonlyMap<string, string>;
  /** The program's own words, with sandbox paths turned back into the user's. */
  translate(text: string): string;
}
