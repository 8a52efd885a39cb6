/** How the server is configured, in the words of ssl.wrap_socket. */
import { Given } from '@cucumber/cucumber';
import { resolve } from 'node:path';
import { HarnessInputError } from '../support/errors';
import type { ProfileFiles } from '../support/pki/store';
import { parseCertReqs, type TlsVersion } from '../support/vocabulary';
import type { ConformanceWorld } from '../support/world';

Given('a server with certfile and keyfile from {certificate}', function (this: ConformanceWorld, profile: ProfileFiles) {
  this.server.certfile = profile.cert;
  this.server.keyfile = profile.key;
});

Given('the server has no certfile', function (this: ConformanceWorld) {
  delete this.server.certfile;
});

Given('the server has no keyfile', function (this: ConformanceWorld) {
  delete this.server.keyfile;
});

Given('the server has cert_reqs {word}', function (this: ConformanceWorld, value: string) {
  this.server.cert_reqs = parseCertReqs(value);
});

Given('the server has ca_certs from {certificate}', function (this: ConformanceWorld, profile: ProfileFiles) {
  this.server.ca_certs = profile.cert;
});

Given('the server has no ca_certs', function (this: ConformanceWorld) {
  delete this.server.ca_certs;
});

Given('the server has ssl_version {}', function (this: ConformanceWorld, expression: string) {
  this.server.ssl_version = expression;
});

Given('the server has ciphers {string}', function (this: ConformanceWorld, ciphers: string) {
  this.server.ciphers = ciphers;
});

Given('the server speaks at least {tls version}', function (this: ConformanceWorld, version: TlsVersion) {
  this.server.minimum_version = version;
});

Given('the server speaks only {tls version}', function (this: ConformanceWorld, version: TlsVersion) {
  this.server.minimum_version = version;
  this.server.maximum_version = version;
});

/** A file of the user's own, relative to the directory the run started in. */
Given('the server has certfile {string}', function (this: ConformanceWorld, path: string) {
  this.server.certfile = resolve(path);
});

Given('the server has keyfile {string}', function (this: ConformanceWorld, path: string) {
  this.server.keyfile = resolve(path);
});

Given('the server has ca_certs {string}', function (this: ConformanceWorld, path: string) {
  this.server.ca_certs = resolve(path);
});

Given('the server leaves cert_reqs at its default', function (this: ConformanceWorld) {
  delete this.server.cert_reqs;
});

Given("the server runs as document 000 writes it, without eventlet.monkey_patch\\(\\)", function (this: ConformanceWorld) {
  this.server.as_written = true;
});

/** A comma-separated list, as `set_alpn_protocols` takes a list. */
function protocolList(text: string): string[] {
  return text.split(',').map((p) => p.trim()).filter(Boolean);
}

Given('the server has alpn_protocols {string}', function (this: ConformanceWorld, protocols: string) {
  this.server.alpn_protocols = protocolList(protocols);
});

Given('the server has npn_protocols {string}', function (this: ConformanceWorld, protocols: string) {
  this.server.npn_protocols = protocolList(protocols);
});

Given('the server ends its response by closing the connection without close_notify', function (this: ConformanceWorld) {
  this.server.end_without_close_notify = true;
});

Given('the server has do_handshake_on_connect {word}', function (this: ConformanceWorld, value: string) {
  if (value !== 'True' && value !== 'False') throw new HarnessInputError(`do_handshake_on_connect: expected True or False, not ${JSON.stringify(value)}`);
  this.server.do_handshake_on_connect = value === 'True';
});

Given('the server wraps its socket with {word}', function (this: ConformanceWorld, api: string) {
  if (api !== 'ssl.wrap_socket' && api !== 'SSLContext.wrap_socket') {
    throw new HarnessInputError(`expected ssl.wrap_socket or SSLContext.wrap_socket, not ${JSON.stringify(api)}`);
  }
  this.server.wrap_with = api;
});

/** safe_tls.py's server: `ssl.create_default_context(Purpose.CLIENT_AUTH, cafile)`, nothing else set unless a step says so. */
Given("the server's context comes from ssl.create_default_context", function (this: ConformanceWorld) {
  this.server.context = 'create_default_context';
});
