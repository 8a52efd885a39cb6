/** The command-line clients' shim (support/peers/nodelay.ts): built once; it sets TCP_NODELAY and reports the local port, each only when asked. */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { localPortIn, nodelayShim, withShim } from '../support/peers/nodelay';

// What a connected TCP socket's TCP_NODELAY is, asked from a program that never sets it itself.
const PROBE = 'import socket,sys; s=socket.create_connection(("127.0.0.1", int(sys.argv[1]))); print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))';

async function listening(onConnection: (port: number) => void = () => undefined): Promise<{ port: string; close: () => void }> {
  const server = createServer((socket) => {
    onConnection(socket.remotePort ?? 0);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: String((server.address() as AddressInfo).port), close: () => server.close() };
}

describe("the command-line clients' shim", () => {
  it('is built with the C compiler (CI machines have one), once, into the build cache', async () => {
    const path = await nodelayShim();
    assert.ok(path, 'a C compiler is on this machine');
    assert.match(path!, /nodelay\.so$/);
    assert.equal(await nodelayShim(), path, 'the same build every time');
  });

  it("sets TCP_NODELAY on a program's TCP connections when asked, and on nothing else", async () => {
    const server = await listening();
    try {
      const probe = async (env?: NodeJS.ProcessEnv): Promise<string> => execFileSync('python3', ['-c', PROBE, server.port], { encoding: 'utf8', ...(env ? { env } : {}) }).trim();
      assert.equal(await probe(), '0');
      assert.notEqual(await probe(await withShim({ nodelay: true })), '0');
      assert.equal(await probe(await withShim({ reportPort: true })), '0', 'TCP_NODELAY only when asked for');
      // A Unix socket is left alone (and works).
      const unix = execFileSync('python3', ['-c', 'import socket; a,b=socket.socketpair(); a.send(b"x"); print(b.recv(1).decode())'], { encoding: 'utf8', env: await withShim({ nodelay: true }) }).trim();
      assert.equal(unix, 'x');
    } finally {
      server.close();
    }
  });

  it("reports the local port of a program's connection on stderr, exactly the one the server sees", async () => {
    let seen = 0;
    const server = await listening((port) => (seen = port));
    try {
      const env = await withShim({ reportPort: true });
      // Asynchronously: the server's side of the connection must be seen while the program runs.
      const stderr = await new Promise<string>((resolve, reject) =>
        execFile('python3', ['-c', `${PROBE}; sys.stderr.write("own line\\n")`, server.port], { encoding: 'utf8', env }, (error, _stdout, err) => (error ? reject(error) : resolve(err))),
      );
      const reported = localPortIn(stderr);
      assert.ok(seen > 0);
      assert.equal(reported.port, seen);
      assert.equal(reported.stderr, 'own line\n', "the program's own stderr is kept, the shim's line taken out");
      assert.deepEqual(localPortIn('nothing here\n'), { port: null, stderr: 'nothing here\n' });
    } finally {
      server.close();
    }
  });
});
