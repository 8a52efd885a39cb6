import { attemptConnection } from './support/attempt';
import { SERVERS, CLIENTS } from './support/peers/registry';
import { loadPki, profileFiles } from './support/pki';
import { stopAllProcesses } from './support/processes';
import { closeChromium } from './support/peers/chromium';
import { closeGoPeer } from './support/peers/go';
import { closePythonPeer } from './support/peers/python-peer';
import { DEFAULT_CLIENT, DEFAULT_SERVER } from './support/vocabulary';
(async () => {
  await loadPki();
  const server = await SERVERS.node!.start({ ...DEFAULT_SERVER, certfile: profileFiles('localhost').cert, keyfile: profileFiles('localhost').key, ssl_version: 'ssl.PROTOCOL_TLSv1_2' });
  for (let round = 0; round < 3; round++) {
    const row: string[] = [];
    for (const c of Object.keys(CLIENTS)) {
      for (const verify of [profileFiles('server-ca').cert, profileFiles('unrelated-ca').cert]) {
        const { outcome } = await attemptConnection(server, CLIENTS[c]!, { ...DEFAULT_CLIENT, verify });
        const stray = await server.observe(null, 300);
        if (stray.accepted) row.push(`${c}/${verify.includes('server-ca') ? 'ok' : 'bad'}:${outcome.verdict} STRAY ${JSON.stringify(stray).slice(0, 200)}`);
      }
    }
    console.log('round', round, row.join('\n'));
  }
  await server.close(); await closeChromium(); await closeGoPeer(); await closePythonPeer(); await stopAllProcesses();
})();
