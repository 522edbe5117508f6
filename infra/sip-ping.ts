/**
 * Readiness probe for a signaling node: a SIP OPTIONS over UDP that must be
 * answered 200 within the timeout. Used by the launcher and the tests.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

export function sipOptionsPing(address: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const id = randomBytes(8).toString('hex');
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('error', () => finish(false));
    sock.on('message', (msg) => {
      const text = msg.toString('latin1');
      if (text.startsWith('SIP/2.0 200') && text.includes(id)) finish(true);
    });
    sock.bind(0, '127.0.0.1', () => {
      const local = sock.address();
      const req =
        `OPTIONS sip:ping@${address}:${port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${local.address}:${local.port};branch=z9hG4bK${id};rport\r\n` +
        `From: <sip:probe@${local.address}>;tag=${id}\r\n` +
        `To: <sip:ping@${address}>\r\n` +
        `Call-ID: ${id}@probe\r\n` +
        `CSeq: 1 OPTIONS\r\n` +
        `Max-Forwards: 70\r\n` +
        `Content-Length: 0\r\n\r\n`;
      sock.send(req, port, address, (e) => {
        if (e) finish(false);
      });
    });
  });
}
