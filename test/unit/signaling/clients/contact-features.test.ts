import { describe, expect, it } from 'vitest';
import { parseNameAddr } from '../../../../signaling/sip/message/index.js';
import { contactDoesIce } from '../../../../signaling/clients/contact-features.js';

const ice = (contact: string): boolean => contactDoesIce(parseNameAddr(contact).params);

describe('contactDoesIce (+sip.ice on a REGISTER Contact, RFC 5768 §4.2)', () => {
  it('is true for the flag as JsSIP and SIP.js send it', () => {
    expect(ice('<sip:k1@x.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:0c4e1c86-6a1c-4d4b-8a3f-1f1b2c3d4e5f>";expires=600')).toBe(true);
    expect(ice('<sip:k1@x.invalid;transport=ws>;+SIP.ICE')).toBe(true);
  });

  it('is false without it (a plain SIP phone over WebSocket), and for a URI parameter of that name', () => {
    expect(ice('<sip:k1@x.invalid;transport=ws>')).toBe(false);
    expect(ice('<sip:k1@x.invalid;transport=ws;+sip.ice>;expires=60')).toBe(false);
    expect(ice('<sip:k1@x.invalid;transport=ws>;+sip.instance="<urn:uuid:1>"')).toBe(false);
  });

  it('reads the explicit boolean values of RFC 3840 §9', () => {
    expect(ice('<sip:k1@x.invalid>;+sip.ice="TRUE"')).toBe(true);
    expect(ice('<sip:k1@x.invalid>;+sip.ice="true"')).toBe(true);
    expect(ice('<sip:k1@x.invalid>;+sip.ice="FALSE"')).toBe(false);
    expect(ice('<sip:k1@x.invalid>;+sip.ice="!TRUE"')).toBe(false);
  });

  it('refuses any other value, naming the parameter', () => {
    expect(() => ice('<sip:k1@x.invalid>;+sip.ice=yes')).toThrow(/\+sip\.ice/);
    expect(() => ice('<sip:k1@x.invalid>;+sip.ice="maybe"')).toThrow(/must be "TRUE" or "FALSE"/);
    expect(() => ice(`<sip:k1@x.invalid>;+sip.ice="${'T'.repeat(40)}"`)).toThrow(/too long/);
  });
});
