import { describe, expect, it } from 'vitest';
import { isWellFormedForm, readBounded } from '../../../../control-plane/api/middleware/body.js';
import { isMeshError } from '../../../../regions/core/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

describe('isWellFormedForm', () => {
  it('accepts what URLSearchParams writes, including UTF-8', () => {
    expect(isWellFormedForm(enc(new URLSearchParams({ To: '+1555', FriendlyName: 'Zoë & co' }).toString()))).toBe(true);
    expect(isWellFormedForm(enc('a=1&a=2&b='))).toBe(true);
  });
  it('refuses broken escapes and escapes that decode to invalid UTF-8', () => {
    expect(isWellFormedForm(enc('a=%G1'))).toBe(false);
    expect(isWellFormedForm(enc('a=100%'))).toBe(false);
    expect(isWellFormedForm(enc('a=%C3%28'))).toBe(false);
  });
});

describe('readBounded', () => {
  it('joins chunks up to the limit', async () => {
    const out = await readBounded(streamOf([enc('ab'), enc('cd')]), 4);
    expect(new TextDecoder().decode(out)).toBe('abcd');
  });
  it('throws TOO_LARGE at the first chunk past the limit, without reading the rest', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(1000));
      },
    });
    const err = await readBounded(endless, 2500).catch((e: unknown) => e);
    expect(isMeshError(err, 'TOO_LARGE')).toBe(true);
    expect(pulled).toBeLessThanOrEqual(4);
  });
});
