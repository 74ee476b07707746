import { describe, expect, it } from 'vitest';
import { OrbPops } from '../src/pops';

describe('orb pops', () => {
  it('pop where an orb was when it moves (was collected), not when first seen', () => {
    const pops = new OrbPops();
    pops.observe([{ id: 1, x: 10, y: 20 }], 1.0);
    expect(pops.at(1.0)).toEqual([]);
    pops.observe([{ id: 1, x: 10, y: 20 }], 1.1);
    expect(pops.at(1.1)).toEqual([]);
    pops.observe([{ id: 1, x: 500, y: 300 }], 1.2);
    expect(pops.at(1.2)).toEqual([{ x: 10, y: 20, born: 1.2, color: '#ffd166' }]);
  });

  it('last 0.6 s', () => {
    const pops = new OrbPops();
    pops.observe([{ id: 1, x: 10, y: 20 }], 0);
    pops.observe([{ id: 1, x: 11, y: 20 }], 1);
    expect(pops.at(1.59)).toHaveLength(1);
    expect(pops.at(1.6)).toHaveLength(0);
  });

  it('keep the newest 32', () => {
    const pops = new OrbPops();
    for (let i = 0; i <= 40; i++) pops.observe([{ id: 7, x: i, y: 0 }], 1 + i * 0.001);
    const live = pops.at(1.05);
    expect(live).toHaveLength(32);
    expect(live.at(-1)!.x).toBe(39);
  });

  it('are not made for the orbs of a new seat', () => {
    const pops = new OrbPops();
    pops.observe([{ id: 1, x: 10, y: 20 }], 0);
    pops.forgetOrbs();
    pops.observe([{ id: 1, x: 500, y: 300 }], 0.1);
    expect(pops.at(0.1)).toEqual([]);
  });
});
