/**
 * Words of the features that name things: certificate profiles, `verify`
 * values, reasons, phases. Each transformer turns words into settings and
 * rejects unknown words as broken input (exit 2), naming what it knows.
 */
import { defineParameterType } from '@cucumber/cucumber';
import { HarnessInputError } from './errors';
import { REASONS, type Phase, type Reason } from './outcome/vocabulary';
import { profileFiles } from './pki';
import type { ProfileFiles } from './pki/store';
import { parseTlsVersion, type TlsVersion } from './vocabulary';

const PROFILE = '[a-z][a-z0-9.-]*';

defineParameterType({
  name: 'certificate',
  regexp: new RegExp(`the (${PROFILE}) certificate`),
  transformer: (name: string): ProfileFiles => profileFiles(name),
});

/** requests' `verify`: a CA certificate, or True / False. */
defineParameterType({
  name: 'verify',
  regexp: new RegExp(`(False|True)|from the (${PROFILE}) certificate`),
  transformer: (literal?: string, name?: string): string | boolean => (name ? profileFiles(name).cert : literal === 'True'),
  useForSnippets: false,
});

/** requests' `cert`: "no certificate", or the certificate and key of a profile. */
defineParameterType({
  name: 'presented',
  regexp: new RegExp(`no certificate|the (${PROFILE}) certificate`),
  transformer: (name?: string): ProfileFiles | null => (name ? profileFiles(name) : null),
  useForSnippets: false,
});

defineParameterType({
  name: 'reason',
  regexp: /[a-z_]+/,
  transformer: (name: string): Reason => {
    if (name in REASONS) return name as Reason;
    throw new HarnessInputError(`unknown reason ${JSON.stringify(name)} (known: ${Object.keys(REASONS).join(', ')})`);
  },
  useForSnippets: false,
});

defineParameterType({
  name: 'phase',
  regexp: /handshake|first read|http/,
  transformer: (phase: string): Phase => phase as Phase,
});

defineParameterType({
  name: 'tls version',
  regexp: /TLS ?v?1(?:\.[0-3])?|TLSv1_[0-3]/,
  transformer: (text: string): TlsVersion => parseTlsVersion('TLS version', text),
});

/** What the wire showed: "no alert", or "alert 116 certificate_required from the server". */
defineParameterType({
  name: 'alert',
  regexp: /no alert|alert (\d+) ([a-z_]+) from the (server|client)/,
  transformer: (code?: string, name?: string, sentBy?: string) => (code ? { code: Number(code), name: name!, sentBy: sentBy as 'server' | 'client' } : null),
  useForSnippets: false,
});
