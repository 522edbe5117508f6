/** Public entry point of the SIP transaction layer (RFC 3261 §17, RFC 6026). */
export { TransactionLayer } from './layer.js';
export type { InviteGate, InviteRefusal, TransactionLayerOptions, TransactionUser } from './layer.js';
export type { TransactionCounters } from './base.js';
export { resolveTimers } from './timers.js';
export { keepSent } from './types.js';
export type { TimerOptions, TimerValues } from './timers.js';
export type {
  ClientTransaction,
  ClientTransactionCallbacks,
  ServerTransaction,
  ClientState,
  ServerState,
  SentMessage,
  TransactionTransport,
} from './types.js';
