/** The MediaEngine contract (contract.ts) against a real rtpengine (127.0.14.5) through RtpengineMediaEngine. */
import { join } from 'node:path';
import { startRtpengine } from '../../../../infra/rtpengine.js';
import { RtpengineMediaEngine } from '../../../../media/engine/index.js';
import { NgClient } from '../../../../media/ng/client.js';
import { LOG_DIR } from '../helpers.js';
import { describeMediaEngineContract } from './contract.js';

const NODE = '127.0.14.5';
const PORTS = { min: 44000, max: 44499 };
const DEAD_TIMEOUT_MS = 300;

describeMediaEngineContract('RtpengineMediaEngine on rtpengine', async () => {
  const proc = await startRtpengine({ id: 'it-engine-contract', interfaceAddress: NODE, ngPort: 2223, portMin: PORTS.min, portMax: PORTS.max, logFile: join(LOG_DIR, 'engine-contract.log') });
  const client = new NgClient({ address: NODE, port: 2223 });
  // Nothing listens on this ng port: commands go unanswered.
  const deadClient = new NgClient({ address: NODE, port: 2299, timeoutMs: DEAD_TIMEOUT_MS, retransmitMs: 100 });
  return {
    engine: new RtpengineMediaEngine(client),
    node: { address: NODE, portMin: PORTS.min, portMax: PORTS.max },
    partyAddress: '127.0.14.50',
    dead: { engine: new RtpengineMediaEngine(deadClient), timeoutMs: DEAD_TIMEOUT_MS },
    deleteDelayMs: 0, // startRtpengine's --delete-delay default
    async close() {
      await Promise.all([client.close(), deadClient.close()]);
      await proc.stop();
    },
  };
});
