import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChildLoggerFactory } from './log.js';

function parent(level: string) {
  const lines: Record<string, unknown>[] = [];
  let children = 0;
  // Counts the pino children made (of any generation), to show that a dropped line makes none.
  const onChild = () => void children++;
  const logger = pino({ level, onChild }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { logger, lines, children: () => children };
}

describe('lazyChildLoggerFactory', () => {
  it('drops lines below the route level without making a child', () => {
    const p = parent('info');
    const log = lazyChildLoggerFactory(p.logger, { reqId: 'req_1' }, { level: 'warn' });
    log.info({ req: { url: '/v1/keys/verify' } }, 'incoming request');
    log.debug('detail');
    log.trace('more detail');
    expect(p.lines).toEqual([]);
    expect(p.children()).toBe(0);
    expect(log.level).toBe('warn');
  });

  it('writes lines at or above the route level through a child with the bindings, made once', () => {
    const p = parent('info');
    const log = lazyChildLoggerFactory(p.logger, { reqId: 'req_2' }, { level: 'warn' });
    log.warn('slow store');
    log.error({ err: new Error('boom') }, 'request failed');
    log.fatal('gone');
    expect(p.lines.map((l) => [l.level, l.msg, l.reqId])).toEqual([
      [40, 'slow store', 'req_2'],
      [50, 'request failed', 'req_2'],
      [60, 'gone', 'req_2'],
    ]);
    expect((p.lines[1]?.err as { message?: string } | undefined)?.message).toBe('boom');
    expect(p.children()).toBe(1);
  });

  it('hands out real children of the request logger, and follows a level set on it', () => {
    const p = parent('info');
    const log = lazyChildLoggerFactory(p.logger, { reqId: 'req_3' }, { level: 'warn' });
    log.child({ step: 'x' }).warn('from a grandchild');
    expect(p.lines.map((l) => [l.msg, l.reqId, l.step])).toEqual([['from a grandchild', 'req_3', 'x']]);
    log.level = 'debug';
    log.debug('now visible');
    expect(p.lines.at(-1)?.msg).toBe('now visible');
  });

  it('makes the usual child when the route logs at the server level or more', () => {
    for (const options of [{}, { level: 'info' }, { level: 'debug' }]) {
      const p = parent('info');
      const log = lazyChildLoggerFactory(p.logger, { reqId: 'req_4' }, options);
      expect(p.children()).toBe(1);
      log.info('incoming request');
      expect(p.lines.map((l) => [l.msg, l.reqId])).toEqual([['incoming request', 'req_4']]);
    }
  });
});
