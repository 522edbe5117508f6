/**
 * The spawn half of node-probe.ts for worker threads. media/cache/process.ts
 * starts sox / espeak-ng from a worker thread, and Node 20 preloads `--import`
 * modules in the main thread only, while `--require` modules run in every
 * thread: this file is loaded with `--require` and, in worker threads only,
 * times each program run and posts it to the main thread's probe
 * (BroadcastChannel 'call-router-probe'), which writes it with the rest.
 */
'use strict';
const { isMainThread, BroadcastChannel } = require('node:worker_threads');
const { basename } = require('node:path');

if (!isMainThread && process.env.CALL_ROUTER_PROBE_FILE) {
  const channel = new BroadcastChannel('call-router-probe');
  channel.unref();
  const cp = require('node:child_process');
  const originalSpawn = cp.spawn;
  const now = () => process.hrtime.bigint().toString();
  cp.spawn = function (...args) {
    const span = { kind: 'spawn', program: basename(String(args[0])), startNs: now(), spawnedNs: '', closeNs: undefined };
    const child = originalSpawn.apply(this, args);
    span.spawnedNs = now();
    child.once('close', () => {
      span.closeNs = now();
      channel.postMessage(span);
    });
    return child;
  };
}
