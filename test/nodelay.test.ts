/** The TCP_NODELAY shim preloaded into gnutls-cli (support/peers/nodelay.ts): built once, and it sets the option. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { nodelayShim, withNodelay } from '../support/peers/nodelay';

// What a connected TCP socket's TCP_NODELAY is, asked from a program that never sets it itself.
const PROBE = 'import socket,sys; s=socket.create_connection(("127.0.0.1", int(sys.argv[1]))); print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))';

describe('the TCP_NODELAY shim', () => {
  it('is built with the C compiler (CI machines have one), once, into the build cache', async () => {
    const path = await nodelayShim();
    assert.ok(path, 'a C compiler is on this machine');
    assert.match(path!, /nodelay\.so$/);
    assert.equal(await nodelayShim(), path, 'the same build every time');
  });

  it('sets TCP_NODELAY on a program\'s TCP connections and on nothing else', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((server.address() as AddressInfo).port);
      const without = execFileSync('python3', ['-c', PROBE, port], { encoding: 'utf8' }).trim();
      const withShim = execFileSync('python3', ['-c', PROBE, port], { encoding: 'utf8', env: await withNodelay() }).trim();
      assert.equal(without, '0');
      assert.notEqual(withShim, '0');
      // A Unix socket is left alone (and works).
      const unix = execFileSync('python3', ['-c', 'import socket; a,b=socket.socketpair(); a.send(b"x"); print(b.recv(1).decode())'], { encoding: 'utf8', env: await withNodelay() }).trim();
      assert.equal(unix, 'x');
    } finally {
      server.close();
    }
  });
});
