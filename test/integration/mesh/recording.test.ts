/**
 * Recording by the home region (issue 3): a call entering at the eu-west
 * edge for a tenant homed in us-east, to a number that must be recorded. Its
 * media stays on the eu-west media node; a branch of the caller's RTP is
 * tunnelled (rtpengine subscription) to us-east's central media service,
 * set up over the region link; the recording's duration matches the call.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentralMediaNode, type CentralMediaNode } from '../../../media/central/central-media-node.js';
import { runSipp, startSipp, type SippInstance } from '../../support/sipp.js';
import { waitFor } from '../../support/wait.js';
import { startTestRegion, type TestRegion } from '../signaling/b2bua/harness.js';

const EDGE_SIG = { address: '127.0.12.1', port: 5060 };
const HOME_SIG = { address: '127.0.13.1', port: 5060 };
const CARRIER = { address: '127.0.12.2', port: 5070 };
const FAR_END = { address: '127.0.12.50', port: 5090 };
const CENTRAL = '127.0.13.20';

describe('recording by the home region’s central media service', () => {
  let edge: TestRegion;
  let home: TestRegion;
  let central: CentralMediaNode;
  let farEnd: SippInstance;
  const dataDir = mkdtempSync(join(tmpdir(), 'mesh-central-'));

  beforeAll(async () => {
    central = await startCentralMediaNode({ region: 'us-east', nodeId: 'it-central', rtpAddress: CENTRAL, portMin: 59000, portMax: 59499, dataDir, linkHost: CENTRAL, linkPort: 0 });
    home = await startTestRegion({
      keyPrefix: 'it-rec:',
      region: 'us-east',
      nodeId: 'it-us-east-sig',
      sip: HOME_SIG,
      mediaNodes: [{ id: 'it-us-east-media-1', address: '127.0.13.11', ngPort: 2223, rtpPortMin: 57000, rtpPortMax: 57999 }],
      routes: [{ prefix: '+1555', destination: `sip:${FAR_END.address}:${FAR_END.port}` }],
      mesh: { peers: [{ region: 'eu-west', ...EDGE_SIG }], homeRules: [{ prefix: '+1555', region: 'us-east' }] },
    });
    edge = await startTestRegion({
      keyPrefix: 'it-rec:',
      region: 'eu-west',
      nodeId: 'it-eu-west-sig',
      sip: EDGE_SIG,
      mediaNodes: [{ id: 'it-eu-west-media-1', address: '127.0.12.11', ngPort: 2223, rtpPortMin: 55000, rtpPortMax: 55999 }],
      routes: [],
      mesh: { peers: [{ region: 'us-east', ...HOME_SIG }], homeRules: [{ prefix: '+1555', region: 'us-east' }] },
      recording: { prefixes: ['+1555'], central: { region: 'us-east', address: CENTRAL, port: central.linkPort } },
    });
    farEnd = await startSipp({ scenario: 'uas-echo.xml', localAddress: FAR_END.address, localPort: FAR_END.port, mediaPort: 22000, rtpEcho: true, timeoutMs: 120_000 });
    await farEnd.ready;
  });
  afterAll(async () => {
    await farEnd?.stop(500);
    await edge?.close();
    await home?.close();
    await central?.close();
  });

  it('holds a recording whose duration matches the call within 5 %', async () => {
    const holdMs = 4000;
    const sipp = runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${EDGE_SIG.address}:${EDGE_SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551234567',
      calls: 1,
      callDurationMs: holdMs,
      timeoutMs: 30_000,
    });
    // The caller's audio: 20 ms PCMU packets to where the edge told it to send, for as long as the call lasts.
    const call = await waitFor(() => [...edge.node.b2bua.calls.values()].find((c) => c.state === 'answered' && c.sdp.toA !== undefined), 5000, 'answered call');
    const sdp = call.sdp.toA!;
    const address = /^c=IN IP4 (\S+)/m.exec(sdp)![1]!;
    const port = Number(/^m=audio (\d+)/m.exec(sdp)![1]);
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, CARRIER.address, () => r()));
    let seq = 0;
    const payload = Buffer.alloc(160, 0xff);
    // Sent on the clock (packets a late timer missed are caught up), and timed until the call ends on the
    // edge, not until SIPp exits: a drifting sender or SIPp's shutdown would otherwise count as recording error.
    const started = performance.now();
    let endedAt: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    const tick = (): void => {
      if (!edge.node.b2bua.calls.has(call.sid)) {
        endedAt ??= performance.now();
        return;
      }
      const due = Math.floor((performance.now() - started) / 20) + 1;
      while (seq < due) {
        const hdr = Buffer.alloc(12);
        hdr[0] = 0x80;
        hdr[1] = 0; // PCMU
        hdr.writeUInt16BE(seq & 0xffff, 2);
        hdr.writeUInt32BE((seq * 160) >>> 0, 4);
        hdr.writeUInt32BE(0x1234abcd, 8);
        seq++;
        sock.send(Buffer.concat([hdr, payload]), port, address);
      }
      timer = setTimeout(tick, 5);
    };
    tick();
    const res = await sipp;
    await waitFor(() => (endedAt !== undefined ? true : undefined), 5000, 'call ended on the edge');
    clearTimeout(timer);
    const sentMs = endedAt! - started;
    sock.close();
    expect(res.successfulCalls, res.errorsTail).toBe(1);

    await waitFor(() => (edge.node.recorder!.counters.stored === 1 ? true : undefined), 5000, 'recording stored');
    const meta = JSON.parse(readFileSync(join(dataDir, call.sid, 'caller.live.json'), 'utf8')) as { duration: number; packets: number; region: string };
    expect(meta.region).toBe('us-east');
    // The recording covers the call: RTP flowed from answer to hang-up (about holdMs).
    const callSeconds = sentMs / 1000;
    expect(Math.abs(meta.duration - callSeconds) / callSeconds).toBeLessThan(0.05);
    expect(Math.abs(meta.duration - holdMs / 1000) / (holdMs / 1000)).toBeLessThan(0.05);
    expect(meta.packets).toBeGreaterThan(0.9 * (holdMs / 20));
    // Media stayed in eu-west: the us-east media node never held a session.
    expect(home.node.mediaPort.placements.local ?? 0).toBe(0);
  });
});
