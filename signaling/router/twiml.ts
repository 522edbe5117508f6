/**
 * Parse and validate an instruction document (the TwiML voice dialect) into
 * the typed AST of twiml-types.ts. Well-formedness errors carry the dialect's
 * code 12100; anything that is XML but not a valid document (unknown verb,
 * bad attribute value, wrong nesting) carries 12200 and names the element and
 * attribute — both trigger the fallback URL, never a crash.
 */
import { isClientIdentity, MAX_CLIENT_IDENTITY_CHARS } from '../../regions/core/client-identity.js';
import { DIALECT_ERRORS, routerError } from './errors.js';
import type {
  ClientParameter, Dial, DialRecord, DialTarget, Enqueue, Gather, GatherChild, HttpMethod, Pause, Play, Record, Redirect, Reject, Say,
  TwimlDocument, Verb,
} from './twiml-types.js';
import { parseXml, textOf, type XmlElement, type XmlLimits } from './xml.js';

export interface TwimlOptions extends XmlLimits {
  /** Absolute URL the document came from; relative action/Redirect URLs resolve against it. */
  documentUrl?: string;
  /** Cap of Say/Play `loop` (and what the dialect's 0 = "forever" becomes). Default 1000. */
  maxLoop?: number;
  /** Verbs in the document, nested ones included. Default 200. */
  maxVerbs?: number;
  /** Characters of one Say text. Default 4096. */
  maxSayLength?: number;
  /** 'warn' (default) records unknown attributes in `warnings` as the dialect does; 'reject' fails with 12200. */
  unknownAttributes?: 'warn' | 'reject';
}

interface Ctx {
  base: URL | undefined;
  maxLoop: number;
  maxVerbs: number;
  maxSay: number;
  strict: boolean;
  verbs: number;
  warnings: string[];
}

function invalid(element: string, message: string, attribute?: string): never {
  const where = attribute === undefined ? `<${element}>` : `<${element}> attribute ${attribute}`;
  throw routerError(DIALECT_ERRORS.SCHEMA_VALIDATION_WARNING, `${where}: ${message}`, {
    element,
    ...(attribute === undefined ? {} : { attribute }),
  });
}

/** Parse XML text into a validated document. */
export function parseTwiml(xml: string, opts: TwimlOptions = {}): TwimlDocument {
  const root = parseXml(xml, opts);
  return validateTwiml(root, opts);
}

/** Validate an already parsed XML tree. */
export function validateTwiml(root: XmlElement, opts: TwimlOptions = {}): TwimlDocument {
  let base: URL | undefined;
  if (opts.documentUrl !== undefined) {
    try {
      base = new URL(opts.documentUrl);
    } catch {
      base = undefined;
    }
  }
  const ctx: Ctx = {
    base,
    maxLoop: opts.maxLoop ?? 1000,
    maxVerbs: opts.maxVerbs ?? 200,
    maxSay: opts.maxSayLength ?? 4096,
    strict: opts.unknownAttributes === 'reject',
    verbs: 0,
    warnings: [],
  };
  if (root.name !== 'Response') invalid(root.name, 'the root element must be <Response>');
  checkAttrs(ctx, root, []);
  const verbs: Verb[] = [];
  for (const child of root.children) {
    if (child.type === 'text') {
      if (child.text.trim() !== '') invalid('Response', 'text is not allowed directly inside <Response>');
      continue;
    }
    verbs.push(verb(ctx, child));
  }
  return { verbs, documentUrl: base?.href, warnings: ctx.warnings };
}

function verb(ctx: Ctx, el: XmlElement): Verb {
  if (++ctx.verbs > ctx.maxVerbs) invalid(el.name, `more than ${ctx.maxVerbs} verbs`);
  switch (el.name) {
    case 'Say': return say(ctx, el);
    case 'Play': return play(ctx, el);
    case 'Pause': return pause(ctx, el);
    case 'Gather': return gather(ctx, el);
    case 'Record': return record(ctx, el);
    case 'Dial': return dial(ctx, el);
    case 'Enqueue': return enqueue(ctx, el);
    case 'Redirect': return redirect(ctx, el);
    case 'Reject': return reject(ctx, el);
    case 'Leave':
    case 'Hangup':
      checkAttrs(ctx, el, []);
      noContent(el);
      return { verb: el.name };
    default:
      return invalid(el.name, 'unknown verb');
  }
}

// ---- attribute helpers -----------------------------------------------------

function checkAttrs(ctx: Ctx, el: XmlElement, known: string[]): void {
  for (const a of Object.keys(el.attrs)) {
    if (known.includes(a)) continue;
    if (ctx.strict) invalid(el.name, 'unknown attribute', a);
    ctx.warnings.push(`${el.name}@${a}`);
  }
}

function noContent(el: XmlElement): void {
  for (const c of el.children) {
    if (c.type === 'element' || c.text.trim() !== '') invalid(el.name, 'must be empty');
  }
}

function onlyText(el: XmlElement): string {
  for (const c of el.children) if (c.type === 'element') invalid(el.name, `<${c.name}> is not allowed inside`);
  return textOf(el);
}

function int(el: XmlElement, name: string, dflt: number, min: number, max: number): number {
  const v = el.attrs[name];
  if (v === undefined) return dflt;
  if (!/^\s*[0-9]{1,9}\s*$/.test(v)) invalid(el.name, `"${v}" is not a whole number`, name);
  const n = Number(v);
  if (n < min || n > max) invalid(el.name, `${n} is outside ${min}..${max}`, name);
  return n;
}

function loop(ctx: Ctx, el: XmlElement): number {
  const n = int(el, 'loop', 1, 0, ctx.maxLoop);
  return n === 0 ? ctx.maxLoop : n;
}

function method(el: XmlElement, name = 'method'): HttpMethod {
  const v = el.attrs[name];
  if (v === undefined) return 'POST';
  const m = v.trim().toUpperCase();
  if (m !== 'GET' && m !== 'POST') invalid(el.name, `"${v}" is not GET or POST`, name);
  return m;
}

function bool(el: XmlElement, name: string, dflt: boolean): boolean {
  const v = el.attrs[name];
  if (v === undefined) return dflt;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return invalid(el.name, `"${v}" is not true or false`, name);
}

function keys(el: XmlElement, name: string, dflt: string): string {
  const v = el.attrs[name];
  if (v === undefined) return dflt;
  if (!/^[0-9*#]*$/.test(v)) invalid(el.name, `"${v}" may only hold 0-9, * and #`, name);
  return v;
}

/** Resolve a URL attribute or text against the document URL; only http(s). */
function url(ctx: Ctx, el: XmlElement, raw: string, what: string): string {
  let u: URL;
  try {
    u = ctx.base === undefined ? new URL(raw) : new URL(raw, ctx.base);
  } catch {
    return invalid(el.name, `"${raw}" is not a URL${ctx.base === undefined ? ' (and no document URL to resolve it against)' : ''}`, what);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') invalid(el.name, `"${raw}" is not an http(s) URL`, what);
  return u.href;
}

function optUrl(ctx: Ctx, el: XmlElement, name: string): string | undefined {
  const v = el.attrs[name];
  return v === undefined || v.trim() === '' ? undefined : url(ctx, el, v.trim(), name);
}

// ---- verbs -----------------------------------------------------------------

// SSML the dialect allows inside <Say>; spoken as its plain text (espeak-ng gets no markup).
const SSML = new Set(['break', 'emphasis', 'lang', 'p', 'phoneme', 'prosody', 's', 'say-as', 'sub', 'w', 'amazon:effect', 'amazon:domain']);

function sayText(ctx: Ctx, el: XmlElement): string {
  let t = '';
  for (const c of el.children) {
    if (c.type === 'text') t += c.text;
    else if (SSML.has(c.name)) {
      ctx.warnings.push(`Say>${c.name}`);
      // <sub alias="…"> speaks the alias; <break> is a pause, read as a space.
      t += c.name === 'sub' && c.attrs['alias'] !== undefined ? c.attrs['alias'] : ` ${sayText(ctx, c)} `;
    } else invalid(c.name, 'is not allowed inside <Say>');
  }
  return t;
}

function say(ctx: Ctx, el: XmlElement): Say {
  checkAttrs(ctx, el, ['voice', 'language', 'loop']);
  const text = sayText(ctx, el).replace(/\s+/g, ' ').trim();
  if (text.length > ctx.maxSay) invalid('Say', `text longer than ${ctx.maxSay} characters`);
  const voice = el.attrs['voice'] ?? 'man';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(voice)) invalid('Say', `"${voice}" is not a voice name`, 'voice');
  const language = el.attrs['language'] ?? 'en-US';
  if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/.test(language)) invalid('Say', `"${language}" is not a language tag`, 'language');
  return { verb: 'Say', text, voice, language, loop: loop(ctx, el) };
}

function play(ctx: Ctx, el: XmlElement): Play {
  checkAttrs(ctx, el, ['loop', 'digits']);
  const text = onlyText(el);
  const digits = el.attrs['digits'];
  if (digits !== undefined && !/^[0-9*#wW]{1,256}$/.test(digits)) invalid('Play', `"${digits}" may only hold 0-9, *, # and w`, 'digits');
  if (text === '' && digits === undefined) invalid('Play', 'needs an audio URL or digits');
  return { verb: 'Play', url: text === '' ? undefined : url(ctx, el, text, 'url'), digits, loop: loop(ctx, el) };
}

function pause(ctx: Ctx, el: XmlElement): Pause {
  checkAttrs(ctx, el, ['length']);
  noContent(el);
  return { verb: 'Pause', length: int(el, 'length', 1, 0, 600) };
}

function gather(ctx: Ctx, el: XmlElement): Gather {
  checkAttrs(ctx, el, ['input', 'numDigits', 'timeout', 'finishOnKey', 'action', 'method']);
  const inputs = (el.attrs['input'] ?? 'dtmf').trim().split(/\s+/);
  const input: ('dtmf' | 'speech')[] = [];
  for (const i of inputs) {
    if (i !== 'dtmf' && i !== 'speech') invalid('Gather', `"${i}" is not dtmf or speech`, 'input');
    if (!input.includes(i)) input.push(i);
  }
  const fok = keys(el, 'finishOnKey', '#');
  if (fok.length > 1) invalid('Gather', 'must be a single key or empty', 'finishOnKey');
  const children: GatherChild[] = [];
  for (const c of el.children) {
    if (c.type === 'text') {
      if (c.text.trim() !== '') invalid('Gather', 'text is not allowed inside');
      continue;
    }
    if (c.name !== 'Say' && c.name !== 'Play' && c.name !== 'Pause') invalid(c.name, 'is not allowed inside <Gather>');
    children.push(verb(ctx, c) as GatherChild);
  }
  return {
    verb: 'Gather',
    input,
    numDigits: el.attrs['numDigits'] === undefined ? undefined : int(el, 'numDigits', 1, 1, 128),
    timeout: int(el, 'timeout', 5, 0, 600),
    finishOnKey: fok,
    action: optUrl(ctx, el, 'action'),
    method: method(el),
    children,
  };
}

function record(ctx: Ctx, el: XmlElement): Record {
  checkAttrs(ctx, el, ['maxLength', 'finishOnKey', 'action', 'method', 'recordingStatusCallback', 'recordingStatusCallbackMethod', 'playBeep', 'timeout']);
  noContent(el);
  return {
    verb: 'Record',
    maxLength: int(el, 'maxLength', 3600, 1, 14400),
    finishOnKey: keys(el, 'finishOnKey', '1234567890*#'),
    action: optUrl(ctx, el, 'action'),
    method: method(el),
    recordingStatusCallback: optUrl(ctx, el, 'recordingStatusCallback'),
    recordingStatusCallbackMethod: method(el, 'recordingStatusCallbackMethod'),
    playBeep: bool(el, 'playBeep', true),
    timeout: int(el, 'timeout', 5, 0, 3600),
  };
}

const DIAL_RECORD: readonly DialRecord[] = ['do-not-record', 'record-from-answer', 'record-from-ringing', 'record-from-answer-dual', 'record-from-ringing-dual'];
const PHONE = /^\+?[0-9*#]{1,32}$/;

function dial(ctx: Ctx, el: XmlElement): Dial {
  checkAttrs(ctx, el, ['timeout', 'callerId', 'action', 'method', 'record', 'timeLimit']);
  let rec = el.attrs['record'] ?? 'do-not-record';
  if (rec === 'true') rec = 'record-from-answer';
  if (rec === 'false') rec = 'do-not-record';
  if (!DIAL_RECORD.includes(rec as DialRecord)) invalid('Dial', `"${rec}" is not a recording mode`, 'record');
  const callerId = el.attrs['callerId'];
  if (callerId !== undefined && !/^(\+?[0-9]{1,32}|(sips?|client):[^\s<>"]{1,256})$/.test(callerId)) invalid('Dial', `"${callerId}" is not a caller id`, 'callerId');
  const targets: DialTarget[] = [];
  let bare = '';
  for (const c of el.children) {
    if (c.type === 'text') {
      bare += c.text;
      continue;
    }
    targets.push(dialTarget(ctx, c));
  }
  bare = bare.trim();
  if (bare !== '') {
    if (targets.length > 0) invalid('Dial', 'mixes a bare number with nested nouns');
    if (!PHONE.test(bare)) invalid('Dial', `"${bare}" is not a phone number`);
    targets.push({ kind: 'number', number: bare, sendDigits: undefined, url: undefined, method: 'POST' });
  }
  if (targets.length === 0) invalid('Dial', 'needs a number, <Number>, <Sip>, <Client> or <Queue>');
  if (targets.length > 10) invalid('Dial', 'more than 10 targets');
  if (targets.some((t) => t.kind === 'queue') && targets.length > 1) invalid('Dial', '<Queue> must be the only noun');
  return {
    verb: 'Dial',
    timeout: int(el, 'timeout', 30, 1, 600),
    callerId,
    action: optUrl(ctx, el, 'action'),
    method: method(el),
    record: rec as DialRecord,
    timeLimit: int(el, 'timeLimit', 14400, 1, 86400),
    targets,
  };
}

function dialTarget(ctx: Ctx, c: XmlElement): DialTarget {
  if (++ctx.verbs > ctx.maxVerbs) invalid(c.name, `more than ${ctx.maxVerbs} verbs`);
  if (c.name === 'Client') return client(ctx, c);
  const text = onlyText(c);
  switch (c.name) {
    case 'Number': {
      checkAttrs(ctx, c, ['sendDigits', 'url', 'method']);
      if (!PHONE.test(text)) invalid('Number', `"${text}" is not a phone number`);
      const sd = c.attrs['sendDigits'];
      if (sd !== undefined && !/^[0-9*#wW]{1,64}$/.test(sd)) invalid('Number', `"${sd}" is not a digit string`, 'sendDigits');
      return { kind: 'number', number: text, sendDigits: sd, url: optUrl(ctx, c, 'url'), method: method(c) };
    }
    case 'Sip': {
      checkAttrs(ctx, c, ['username', 'password', 'url', 'method']);
      if (!/^sips?:[^\s<>"]{1,512}$/.test(text)) invalid('Sip', `"${text}" is not a SIP URI`);
      return { kind: 'sip', uri: text, username: c.attrs['username'], password: c.attrs['password'], url: optUrl(ctx, c, 'url'), method: method(c) };
    }
    case 'Queue': {
      checkAttrs(ctx, c, ['url', 'method']);
      return { kind: 'queue', name: queueName('Queue', text), url: optUrl(ctx, c, 'url'), method: method(c) };
    }
    default:
      return invalid(c.name, 'is not allowed inside <Dial>');
  }
}

/** Most `<Parameter>` children of one `<Client>`. */
const MAX_CLIENT_PARAMETERS = 16;
const MAX_PARAMETER_VALUE_CHARS = 512;

/**
 * `<Client>alice</Client>`, or the long form with `<Identity>alice</Identity>`
 * and `<Parameter name="…" value="…"/>` children (the identity either way, not both).
 */
function client(ctx: Ctx, c: XmlElement): DialTarget {
  checkAttrs(ctx, c, ['url', 'method']);
  let text = '';
  let identity: string | undefined;
  const parameters: ClientParameter[] = [];
  for (const k of c.children) {
    if (k.type === 'text') {
      text += k.text;
      continue;
    }
    if (k.name === 'Identity') {
      checkAttrs(ctx, k, []);
      if (identity !== undefined) invalid('Client', 'has more than one <Identity>');
      identity = onlyText(k);
    } else if (k.name === 'Parameter') {
      checkAttrs(ctx, k, ['name', 'value']);
      noContent(k);
      if (parameters.length >= MAX_CLIENT_PARAMETERS) invalid('Client', `more than ${MAX_CLIENT_PARAMETERS} <Parameter> children`);
      const name = k.attrs['name'] ?? '';
      const value = k.attrs['value'] ?? '';
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) invalid('Parameter', `"${name.slice(0, 80)}" is not a parameter name (1-64 of A-Z a-z 0-9 _ . -)`, 'name');
      if (value.length > MAX_PARAMETER_VALUE_CHARS || /[\x00-\x1f\x7f]/.test(value)) invalid('Parameter', `value longer than ${MAX_PARAMETER_VALUE_CHARS} characters or with control characters`, 'value');
      parameters.push({ name, value });
    } else {
      invalid(k.name, 'is not allowed inside <Client>');
    }
  }
  text = text.trim();
  if (identity !== undefined && text !== '') invalid('Client', 'has both text and <Identity>');
  const id = identity ?? text;
  if (id === '') invalid('Client', 'needs a client identity');
  if (!isClientIdentity(id)) {
    invalid('Client', `"${id.slice(0, 80)}" is not a client identity (1-${MAX_CLIENT_IDENTITY_CHARS} characters, no space, control, < > # % " { } | \\ ^ [ ] \`)`);
  }
  return { kind: 'client', identity: id, parameters, url: optUrl(ctx, c, 'url'), method: method(c) };
}

function queueName(element: string, text: string): string {
  if (!/^[A-Za-z0-9 _.:-]{1,64}$/.test(text)) invalid(element, `"${text}" is not a queue name (1-64 of A-Z a-z 0-9 space _ . : -)`);
  return text;
}

function enqueue(ctx: Ctx, el: XmlElement): Enqueue {
  checkAttrs(ctx, el, ['waitUrl', 'waitUrlMethod', 'action', 'method']);
  return {
    verb: 'Enqueue',
    queue: queueName('Enqueue', onlyText(el)),
    waitUrl: optUrl(ctx, el, 'waitUrl'),
    waitUrlMethod: method(el, 'waitUrlMethod'),
    action: optUrl(ctx, el, 'action'),
    method: method(el),
  };
}

function redirect(ctx: Ctx, el: XmlElement): Redirect {
  checkAttrs(ctx, el, ['method']);
  const text = onlyText(el);
  if (text === '') invalid('Redirect', 'needs a URL');
  return { verb: 'Redirect', url: url(ctx, el, text, 'url'), method: method(el) };
}

function reject(ctx: Ctx, el: XmlElement): Reject {
  checkAttrs(ctx, el, ['reason']);
  noContent(el);
  const r = el.attrs['reason'] ?? 'rejected';
  if (r !== 'rejected' && r !== 'busy') invalid('Reject', `"${r}" is not rejected or busy`, 'reason');
  return { verb: 'Reject', reason: r };
}
