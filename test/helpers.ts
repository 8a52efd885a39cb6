/** What several tests share: observations as the adapters record them, and whether a command is installed. */
import { execFileSync } from 'node:child_process';
import type { ClientObservation, ServerObservation } from '../support/peers/types';

export const client = (seen: Partial<ClientObservation>): ClientObservation => ({
  localPort: 40000, handshakeCompleted: false, protocol: null, cipher: null, keyExchange: null, sessionReused: false,
  serverCertificate: null, verified: true, response: null, socketError: null, requestError: null, timedOut: false, ...seen,
});

export const server = (seen: Partial<ServerObservation>): ServerObservation => ({
  accepted: true, handshakeCompleted: false, protocol: null, cipher: null, clientCertificate: null,
  verificationError: null, rejection: null, errors: [], requests: [], ...seen,
});

export function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
