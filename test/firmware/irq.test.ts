/** The status register and its dispatcher (firmware/src/core/irq.ts), in Node. */
import { describe, expect, it } from 'vitest';
import { createIrq } from '../../firmware/src/core/irq.ts';
import { IRQ_MAX_PER_PASS, IRQ_SOURCE_COUNT } from '../../shared/status-register.ts';

function rig() {
  const log: string[] = [];
  const later: (() => void)[] = [];
  const errors: any[] = [];
  const handlers: ((d: any) => void)[] = [];
  for (let b = 0; b < IRQ_SOURCE_COUNT; b++) handlers.push((d) => log.push(b + (d === undefined ? '' : ':' + d)));
  const irq = createIrq(handlers, (e) => errors.push(e), (fn) => later.push(fn));
  return { irq, log, later, errors, handlers };
}

describe('status register dispatch', () => {
  it('serves pending sources in bit order (priority), raises during service included', () => {
    const r = rig();
    // while serving bit 5, three more sources are raised: they are served next, lowest first
    r.handlers[5] = () => {
      r.log.push('5');
      r.irq.raise(4);
      r.irq.raise(0, 'f');
      r.irq.raise(3);
    };
    r.irq.raise(5);
    expect(r.log).toEqual(['5', '0:f', '3', '4']);
    expect(r.irq.cnt).toEqual([1, 0, 0, 1, 1, 1, 0]);
  });

  it('a bit raised while pending counts an overrun; its details are all delivered in order', () => {
    const r = rig();
    r.handlers[6] = () => {
      r.irq.raise(2, 'a');
      r.irq.raise(2, 'b');
      r.irq.raise(2, 'c');
    };
    r.irq.raise(6);
    expect(r.log).toEqual(['2:a', '2:b', '2:c']);
    expect(r.irq.ovr()).toBe(2);
    expect(r.irq.snap()).toBe(1 << 2); // the latest pass saw bit 2 pending
  });

  it('bounds each pass, then yields; nothing starves and nothing is lost', () => {
    const r = rig();
    let floods = 0;
    r.handlers[1] = () => {
      r.log.push('1');
      if (++floods < 100) r.irq.raise(1); // a source that re-raises itself forever
    };
    r.irq.raise(4);
    r.handlers[4] = () => r.log.push('4');
    r.handlers[0] = () => {
      r.log.push('0');
      r.irq.raise(1);
      r.irq.raise(4);
    };
    r.irq.raise(0);
    expect(r.log.length).toBeLessThanOrEqual(1 + IRQ_MAX_PER_PASS);
    expect(r.log).toContain('4'); // the lower priority got its turn in the first pass
    let passes = 0;
    while (r.later.length && passes < 50) {
      r.later.shift()!();
      passes++;
    }
    expect(r.log.filter((x) => x === '1').length).toBe(100);
    expect(passes).toBeGreaterThan(1);
  });

  it('a full detail ring counts lost details', () => {
    const r = rig();
    r.handlers[6] = () => {
      for (let i = 0; i < 10; i++) r.irq.raise(5, i);
    };
    r.irq.raise(6);
    expect(r.irq.lost()).toBe(2);
    expect(r.log).toEqual(['5:0', '5:1', '5:2', '5:3', '5:4', '5:5', '5:6', '5:7']);
  });

  it('a handler that throws is reported and the rest is served', () => {
    const r = rig();
    r.handlers[3] = () => {
      throw new Error('boom');
    };
    r.handlers[6] = () => {
      r.irq.raise(3);
      r.irq.raise(4);
    };
    r.irq.raise(6);
    while (r.later.length) r.later.shift()!();
    expect(String(r.errors[0])).toContain('boom');
    expect(r.log).toContain('4');
  });
});
