/**
 * A worker thread of the gate, for runs of several deployment files with the
 * compiled command: one gate at a time, asked for by the main thread, so
 * that the gates use every core (a gate's handshakes, both ends in one
 * process, are CPU work). Its servers and programs are its own, closed
 * before it says it is done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { closeGoPeer } from '../peers/go';
import { closePythonPeer } from '../peers/python-peer';
import { stopAllProcesses } from '../processes';
import { closeAllServers } from '../server-pool';
import { gateOne, type GateCommandOptions } from './gate-command';

type Request = { readonly index: number; readonly file: string } | { readonly done: true };

const options = (workerData as { options: GateCommandOptions }).options;
const port = parentPort!;
port.on('message', (request: Request) => {
  void (async () => {
    if ('done' in request) {
      await closeAllServers();
      await Promise.all([closePythonPeer(), closeGoPeer()]);
      await stopAllProcesses();
      port.postMessage({ closed: true });
      port.close();
      return;
    }
    port.postMessage({ index: request.index, result: await gateOne(request.file, options) });
  })();
});
port.postMessage({ ready: true });
