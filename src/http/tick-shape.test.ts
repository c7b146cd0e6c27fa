import { createHook } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { keepTickShapeAlive } from './tick-shape.js';

// V8's own view of object shapes: vitest runs each test file in a process of its own, so the
// flags set here reach no other file.
setFlagsFromString('--allow-natives-syntax');
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

/** The queue entry `process.nextTick(fn, ...args)` builds, caught by an async hook. */
function tickEntry(...args: unknown[]): object {
  let entry: object | null = null;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'TickObject') entry ??= resource as object;
    },
  }).enable();
  process.nextTick(() => {}, ...args);
  hook.disable();
  if (entry === null) throw new Error('no TickObject was announced');
  return entry;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('keepTickShapeAlive', () => {
  it('holds a process.nextTick queue entry, once per process', () => {
    const held = keepTickShapeAlive();
    expect(held).not.toBeNull();
    expect(Object.keys(held ?? {})).toEqual(['callback', 'args']);
    expect(Object.getOwnPropertySymbols(held ?? {}).map(String)).toEqual([
      'Symbol(async_id_symbol)',
      'Symbol(trigger_async_id_symbol)',
    ]);
    expect(keepTickShapeAlive()).toBe(held);
  });

  it('keeps the shape later entries get, across full collections made while none is queued', async () => {
    const held = keepTickShapeAlive() as object;
    for (let i = 0; i < 3; i++) {
      await settle();
      gc();
    }
    // The check tells shapes apart: an object with the same keys defined another way is not one.
    expect(sameMap(held, { callback: () => {}, args: undefined })).toBe(false);
    // With and without arguments: every entry goes through the same transitions.
    expect(sameMap(held, tickEntry())).toBe(true);
    expect(sameMap(held, tickEntry('a', 1))).toBe(true);
  });
});
