/**
 * UDP ports of the central media service, one per open branch, from a fixed
 * range. Only even ports are handed out: RTP uses the even port and RTCP the
 * next odd one (RFC 3550 §11), and SDP peers assume that pairing. A port that
 * some other process holds is skipped.
 */
import dgram from 'node:dgram';
import { MeshError } from '../../regions/core/errors.js';

export class UdpPortPool {
  private readonly inUse = new Set<number>();
  private cursor: number;

  constructor(
    private readonly address: string,
    private readonly portMin: number,
    private readonly portMax: number,
  ) {
    if (!Number.isInteger(portMin) || !Number.isInteger(portMax) || portMin < 1024 || portMax > 65535 || portMin > portMax) {
      throw new MeshError('CONFIG_INVALID', `central media port range ${portMin}-${portMax} is invalid`);
    }
    this.cursor = portMin + (portMin % 2);
  }

  get size(): number {
    return this.inUse.size;
  }

  /** Bind a socket on the next free even port; SERVICE_UNAVAILABLE when the range is exhausted. */
  async bind(): Promise<dgram.Socket> {
    const first = this.portMin + (this.portMin % 2);
    const slots = Math.floor((this.portMax - first) / 2) + 1;
    for (let tried = 0; tried < slots; tried++) {
      const port = this.cursor;
      this.cursor = port + 2 > this.portMax ? first : port + 2;
      if (this.inUse.has(port)) continue;
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 256 * 1024 });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(port, this.address, () => {
            socket.off('error', reject);
            resolve();
          });
        });
      } catch {
        socket.close();
        continue; // held by someone else
      }
      this.inUse.add(port);
      socket.once('close', () => this.inUse.delete(port));
      return socket;
    }
    throw new MeshError('SERVICE_UNAVAILABLE', `no free UDP port in ${this.portMin}-${this.portMax} on ${this.address}`, { retryAfter: 1 });
  }
}
