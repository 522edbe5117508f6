/**
 * The per-call path builds no object with an own key after a spread
 * (`{ ...a, b: 1 }`, `{ ...(x ? { y } : {}), z }`). V8 (Node 20) gives each such
 * object a hidden class of its own, allocated in the old generation, so every
 * one is garbage that only a major GC frees: at 800 calls/s that was a third
 * of all promoted bytes (benchmarks/README.md, session 8). Spreads last
 * (`{ a, ...b }`) and `Object.assign` are fine.
 *
 * The folders below are what one B2BUA call runs through; the check reads
 * their sources with the TypeScript parser.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
const PER_CALL = ['signaling/sip', 'signaling/b2bua', 'media/ng', 'media/engine', 'media/nodes', 'control-plane/placement'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** `file:line: text` of each object literal with a key after a spread. */
function keysAfterSpread(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isObjectLiteralExpression(node)) {
      let spread = false;
      for (const p of node.properties) {
        if (ts.isSpreadAssignment(p)) spread = true;
        else if (spread) {
          const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
          found.push(`${fileName}:${line}: ${node.getText(sf).replace(/\s+/g, ' ').slice(0, 80)}`);
          break;
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe('object shapes on the per-call path', () => {
  it('finds a key after a spread, and nothing in a spread placed last', () => {
    expect(keysAfterSpread('a.ts', 'const x = { ...a, b: 1 };\nconst y = { b: 1, ...a };')).toEqual(['a.ts:1: { ...a, b: 1 }']);
    expect(keysAfterSpread('b.ts', 'f({ n: 1, ...(c ? { d } : {}), e });')).toHaveLength(1);
    expect(keysAfterSpread('c.ts', 'f(Object.assign({}, a, { b: 1 }), { ...a, ...b });')).toEqual([]);
  });

  it('no source of the per-call folders builds one', () => {
    const found = PER_CALL.flatMap((dir) => sources(join(ROOT, dir)).flatMap((path) => keysAfterSpread(relative(ROOT, path), readFileSync(path, 'utf8'))));
    expect(found).toEqual([]);
  });
});
