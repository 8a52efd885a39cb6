/** How the client is configured, in the words of requests.request. */
import { Given, When } from '@cucumber/cucumber';
import { HarnessInputError } from '../support/errors';
import type { ProfileFiles } from '../support/pki/store';
import type { TlsVersion } from '../support/vocabulary';
import type { ConformanceWorld } from '../support/world';

Given('the client has verify {verify}', function (this: ConformanceWorld, verify: string | boolean) {
  this.client.verify = verify;
});

Given('the client presents {presented}', function (this: ConformanceWorld, profile: ProfileFiles | null) {
  if (profile) this.client.cert = [profile.cert, profile.key];
  else delete this.client.cert;
});

Given('the client has server_hostname {word}', function (this: ConformanceWorld, name: string) {
  this.client.server_hostname = name;
});

Given('the client speaks only {tls version}', function (this: ConformanceWorld, version: TlsVersion) {
  this.client.minimum_version = version;
  this.client.maximum_version = version;
});

Given('the client speaks at most {tls version}', function (this: ConformanceWorld, version: TlsVersion) {
  this.client.maximum_version = version;
});

Given('the client speaks any version', function (this: ConformanceWorld) {
  delete this.client.minimum_version;
  delete this.client.maximum_version;
});

Given('the client has ciphers {string}', function (this: ConformanceWorld, ciphers: string) {
  this.client.ciphers = ciphers;
});

Given('the client has timeout {int} second(s)', function (this: ConformanceWorld, seconds: number) {
  this.client.timeout = seconds;
});

Given('the client offers alpn_protocols {string}', function (this: ConformanceWorld, protocols: string) {
  this.client.alpn_protocols = protocols.split(',').map((p) => p.trim()).filter(Boolean);
});

Given('the client has suppress_ragged_eofs {word}', function (this: ConformanceWorld, value: string) {
  if (value !== 'True' && value !== 'False') throw new HarnessInputError(`suppress_ragged_eofs: expected True or False, not ${JSON.stringify(value)}`);
  this.client.suppress_ragged_eofs = value === 'True';
});

Given("the client's context does not have OP_IGNORE_UNEXPECTED_EOF", function (this: ConformanceWorld) {
  this.client.ignore_unexpected_eof = false;
});

When('a bare TCP connection is opened and closed', async function (this: ConformanceWorld) {
  const pairs = this.pairs();
  if (pairs.length === 0) return 'skipped';
  await this.connectAndCloseBare(pairs);
  return undefined;
});

When('the client connects', async function (this: ConformanceWorld) {
  const pairs = this.pairs();
  // A scenario about implementations this run does not include is skipped, and the report says so.
  if (pairs.length === 0) return 'skipped';
  await this.connect(pairs);
  return undefined;
});

/** safe_tls.py's client: `ssl.create_default_context(Purpose.SERVER_AUTH, cafile)`. */
Given("the client's context comes from ssl.create_default_context", function (this: ConformanceWorld) {
  this.client.context = 'create_default_context';
});
