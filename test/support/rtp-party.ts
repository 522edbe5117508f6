/**
 * A call party's RTP end, owned by the test: a UDP socket whose address goes
 * into the caller's SDP (SIPp does the signaling with `uac-app.xml`). It logs
 * every packet received (arrival time, payload type, payload) and can send a
 * G.711 µ-law stream with a recognisable fill byte and RFC 4733 digits.
 */
import dgram from 'node:dgram';

export interface ReceivedPacket {
  at: number;
  pt: number;
  marker: boolean;
  payload: Buffer;
  from: string;
}

export class RtpParty {
  readonly received: ReceivedPacket[] = [];
  private remote: { address: string; port: number } | undefined;
  private seq = Math.floor(Math.random() * 1000);
  private ts = Math.floor(Math.random() * 100000);
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff);
  private streamTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (msg, rinfo) => {
      if (msg.length < 12) return;
      this.received.push({ at: performance.now(), pt: msg[1]! & 0x7f, marker: (msg[1]! & 0x80) !== 0, payload: msg.subarray(12), from: `${rinfo.address}:${rinfo.port}` });
      // Symmetric RTP: answer where the platform sends from.
      this.remote ??= { address: rinfo.address, port: rinfo.port };
    });
  }

  static async bind(address: string): Promise<RtpParty> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, address, () => resolve());
    });
    return new RtpParty(s);
  }

  get address(): string {
    return this.socket.address().address;
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Where to send; default: the source of the first packet received. */
  setRemote(address: string, port: number): void {
    this.remote = { address, port };
  }

  /** Audio packets (PCMU/PCMA) received, optionally only those after `since`. */
  audio(since = 0): ReceivedPacket[] {
    return this.received.filter((p) => (p.pt === 0 || p.pt === 8) && p.at >= since);
  }

  /** Start sending 20 ms µ-law packets filled with `fill` (scheduled on the clock, not drifting). */
  startStream(fill: number): void {
    this.stopStream();
    const started = performance.now();
    let sent = 0;
    const tick = (): void => {
      const due = Math.floor((performance.now() - started) / 20) + 1;
      while (sent < due) {
        this.send(0, Buffer.alloc(160, fill), false, 160);
        sent++;
      }
      this.streamTimer = setTimeout(tick, 10);
    };
    tick();
  }

  stopStream(): void {
    clearTimeout(this.streamTimer);
    this.streamTimer = undefined;
  }

  /** Press one key (RFC 4733, payload type 101): 100 ms of updates, then the end packet three times. */
  async pressKey(key: string): Promise<void> {
    const event = '0123456789*#'.indexOf(key);
    if (event < 0) throw new Error(`not a DTMF key: ${key}`);
    const startTs = this.ts;
    for (let i = 1; i <= 5; i++) {
      this.sendEvent(event, false, i * 160, startTs, i === 1);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < 3; i++) this.sendEvent(event, true, 800, startTs, false);
    this.ts += 800;
  }

  private sendEvent(event: number, end: boolean, duration: number, ts: number, marker: boolean): void {
    const p = Buffer.alloc(4);
    p[0] = event;
    p[1] = (end ? 0x80 : 0) | 10;
    p.writeUInt16BE(duration, 2);
    this.sendRaw(101, p, marker, ts);
  }

  private send(pt: number, payload: Buffer, marker: boolean, tsStep: number): void {
    this.sendRaw(pt, payload, marker, this.ts);
    this.ts += tsStep;
  }

  private sendRaw(pt: number, payload: Buffer, marker: boolean, ts: number): void {
    if (this.remote === undefined) return;
    const h = Buffer.alloc(12);
    h[0] = 0x80;
    h[1] = pt | (marker ? 0x80 : 0);
    h.writeUInt16BE(this.seq++ & 0xffff, 2);
    h.writeUInt32BE(ts >>> 0, 4);
    h.writeUInt32BE(this.ssrc >>> 0, 8);
    this.socket.send(Buffer.concat([h, payload]), this.remote.port, this.remote.address);
  }

  close(): void {
    this.stopStream();
    this.socket.close();
  }
}

/** Length of the audio received, as packets × 20 ms. */
export function audioMs(packets: ReceivedPacket[]): number {
  return packets.length * 20;
}
