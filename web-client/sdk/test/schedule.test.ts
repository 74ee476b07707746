import { describe, expect, it } from 'vitest';
import { InputSchedule } from '../src/schedule';

const PERIOD = 1000 / 30;

describe('the input schedule', () => {
  it('makes the first input due one period after the start', () => {
    const s = new InputSchedule();
    s.restart(1000, PERIOD);
    expect(s.take(1000 + PERIOD - 0.01)).toBe(0);
    expect(s.take(1000 + PERIOD)).toBe(1);
    expect(s.take(1000 + PERIOD)).toBe(0);
  });

  it('gives one input per period whether pumped often or rarely', () => {
    const s = new InputSchedule();
    s.restart(0, PERIOD);
    let sent = 0;
    // Pumped every 7 ms for a second…
    for (let t = 0; t <= 1000; t += 7) sent += s.take(t);
    expect(sent).toBe(29); // due at 33.3, 66.7 … 966.7 (1000 itself is not reached at t = 994)
    // …then twice per period.
    for (let t = 1001; t <= 2000; t += PERIOD / 2) sent += s.take(t);
    expect(sent).toBe(59);
  });

  it('catches up a short delay with a burst, but gives only one after a long stall', () => {
    const s = new InputSchedule();
    s.restart(0, PERIOD);
    expect(s.take(3 * PERIOD)).toBe(3);
    expect(s.take(3 * PERIOD + 10 * PERIOD)).toBe(1);
    // And the schedule continues from there.
    expect(s.take(14 * PERIOD - 0.01)).toBe(0);
    expect(s.take(14 * PERIOD)).toBe(1);
  });

  it('follows the server’s actual period when given one', () => {
    const s = new InputSchedule();
    s.restart(0, PERIOD);
    const slow = 40;
    expect(s.take(PERIOD, slow)).toBe(1);
    expect(s.periodMs).toBe(slow);
    expect(s.take(PERIOD + slow - 0.01, slow)).toBe(0);
    expect(s.take(PERIOD + slow, slow)).toBe(1);
  });

  it('says how far into the period since the last input we are', () => {
    const s = new InputSchedule();
    s.restart(0, 40);
    s.take(40);
    expect(s.alpha(40)).toBeCloseTo(0);
    expect(s.alpha(50)).toBeCloseTo(0.25);
    expect(s.alpha(70)).toBeCloseTo(0.75);
  });
});
