/**
 * Reading the certificate and key files a configuration names, with errors
 * that say which setting and which file. Contents are cached per path and
 * modification time: an attempt costs a handshake, not a disk read.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigurationError } from '../errors';

const cache = new Map<string, { mtimeMs: number; text: string }>();

export type PemKind = 'certificate' | 'private key';

const BLOCK: Record<PemKind, RegExp> = {
  certificate: /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/,
  'private key': /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/,
};

export function readPem(field: string, path: string, kind: PemKind): string {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigurationError(field, code === 'ENOENT' ? 'no such file' : `cannot read the file (${code})`, path);
  }
  const cached = cache.get(path);
  let text: string;
  if (cached && cached.mtimeMs === mtimeMs) {
    text = cached.text;
  } else {
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigurationError(field, `cannot read the file (${(error as NodeJS.ErrnoException).code})`, path);
    }
    cache.set(path, { mtimeMs, text });
  }
  if (!BLOCK[kind].test(text)) {
    throw new ConfigurationError(field, `holds no PEM ${kind}`, path);
  }
  return text;
}

export function hasPem(text: string, kind: PemKind): boolean {
  return BLOCK[kind].test(text);
}

/** The files a server configuration names exist and hold what they should: the same message whichever implementation reads them next. */
export function checkServerFiles(settings: { certfile?: string; keyfile?: string; ca_certs?: string }): void {
  const cert = settings.certfile ? readPem('certfile', settings.certfile, 'certificate') : undefined;
  const key = settings.keyfile ? readPem('keyfile', settings.keyfile, 'private key') : cert && hasPem(cert, 'private key') ? cert : undefined;
  if (settings.ca_certs) readPem('ca_certs', settings.ca_certs, 'certificate');
  // nginx and Apache would ask for the passphrase on a terminal (and wait forever without one), OpenSSL in
  // Python too: an encrypted key with no password is refused here, the same way for every implementation.
  if (key && /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(key)) {
    throw new ConfigurationError('keyfile', 'the private key is encrypted and no password was given', settings.keyfile ?? settings.certfile);
  }
}

export function checkClientFiles(settings: { verify: string | boolean; cert?: readonly [string, string] }): void {
  if (typeof settings.verify === 'string') readPem('verify', settings.verify, 'certificate');
  if (settings.cert) {
    readPem('cert', settings.cert[0], 'certificate');
    readPem('cert', settings.cert[1], 'private key');
  }
}
