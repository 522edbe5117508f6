/**
 * Resource SIDs as the 2010-04-01 API shapes them: two-letter prefix + 32 hex
 * digits. Here (not in the control plane) because the call side creates
 * resources too: queues on `Enqueue`, recordings on `Record`.
 */
import { randomBytes } from 'node:crypto';

export type SidPrefix = 'AC' | 'AP' | 'PN' | 'CA' | 'RE' | 'QU' | 'SK' | 'CN';

export function newSid(prefix: SidPrefix): string {
  return prefix + randomBytes(16).toString('hex');
}
