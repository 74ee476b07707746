import { describe, expect, it } from 'vitest';
import {
  countdownText,
  isRound,
  roundBanner,
  roundClock,
  roundHud,
  roundOf,
  secondsLeft,
  winnerName,
  type Round,
} from '../src/round';

const HZ = 30;
const ME = 'me-id';
const NOVA = 'nova-id';
const players = [
  { id: ME, name: 'pixel' },
  { id: NOVA, name: 'nova' },
];

const playing = (endsAtTick: number, number = 3): Round => ({
  number,
  phase: 'playing',
  endsAtTick,
  winner: null,
});
const over = (winner: string | null, endsAtTick = 1150): Round => ({
  number: 3,
  phase: 'over',
  endsAtTick,
  winner,
});

describe('the round countdown', () => {
  it('counts whole seconds down to the end of the phase, rounding up', () => {
    // 2 minutes at 30 Hz from tick 0.
    const r = playing(3600);
    expect(countdownText(r, 0, HZ)).toBe('2:00');
    expect(countdownText(r, 1, HZ)).toBe('2:00');
    expect(countdownText(r, 30, HZ)).toBe('1:59');
    expect(countdownText(r, 3600 - 30 * 42 - 1, HZ)).toBe('0:43');
    expect(countdownText(r, 3599, HZ)).toBe('0:01');
    expect(countdownText(r, 3600, HZ)).toBe('0:00');
  });

  it('never goes negative, past the end or without a tick rate', () => {
    expect(countdownText(playing(100), 250, HZ)).toBe('0:00');
    expect(secondsLeft(playing(100), 0, 0)).toBe(0);
  });

  it('names the round, and turns urgent for the last 10 seconds of play', () => {
    const r = playing(3600);
    expect(roundClock(r, 0, HZ)).toEqual({
      title: 'Round 3',
      time: '2:00',
      caption: 'left',
      urgent: false,
    });
    expect(roundClock(r, 3600 - 11 * HZ, HZ).urgent).toBe(false);
    expect(roundClock(r, 3600 - 10 * HZ, HZ).urgent).toBe(true);
    expect(roundClock(r, 3600 - 10 * HZ, HZ).time).toBe('0:10');
  });

  it('counts down to the next round in the over-phase, without urgency', () => {
    expect(roundClock(over(NOVA, 150), 0, HZ)).toEqual({
      title: 'Round 3 over',
      time: '0:05',
      caption: 'next round in',
      urgent: false,
    });
  });
});

describe('the winner banner', () => {
  it('is only shown in the over-phase', () => {
    expect(roundBanner(playing(100), 0, HZ, players, ME)).toBeNull();
    expect(roundHud(playing(100), 0, HZ, players, ME)?.banner).toBeNull();
  });

  it("names the winner from the players, and says 'You' for ourselves", () => {
    expect(winnerName(over(NOVA), players, ME)).toBe('nova');
    expect(winnerName(over(ME), players, ME)).toBe('You');
    const theirs = roundBanner(over(NOVA, 150), 0, HZ, players, ME);
    expect(theirs).toEqual({
      title: 'nova wins round 3!',
      subtitle: 'Next round in 5 s',
      mine: false,
      winnerId: NOVA,
    });
    const mine = roundBanner(over(ME, 150), 0, HZ, players, ME);
    expect(mine?.title).toBe('You win round 3!');
    expect(mine?.mine).toBe(true);
  });

  it('says so when there is no winner, or the winner has left', () => {
    expect(roundBanner(over(null), 0, HZ, players, ME)?.title).toBe('Round 3: no winner');
    const left = roundBanner(over('gone'), 0, HZ, players, ME);
    expect(left?.title).toBe('Round 3 went to a player who left');
    expect(left?.winnerId).toBeNull();
    expect(winnerName(over('gone'), players, ME)).toBeNull();
  });

  it('says the next round is starting once the over-phase has run out', () => {
    expect(roundBanner(over(NOVA, 150), 150, HZ, players, ME)?.subtitle).toBe(
      'Next round starting…',
    );
  });

  it('keeps a name with markup as plain text', () => {
    const banner = roundBanner(over('x'), 0, HZ, [{ id: 'x', name: '<b>x</b>' }], ME);
    expect(banner?.title).toBe('<b>x</b> wins round 3!');
  });
});

describe('the round of a snapshot', () => {
  it('is absent when the state has none: no round HUD', () => {
    expect(roundOf({ players: [], orbs: [] })).toBeNull();
    expect(roundHud(null, 0, HZ, players, ME)).toBeNull();
  });

  it('is read from the state when present', () => {
    const state = { players: [], orbs: [], round: over(NOVA) };
    expect(roundOf(state)).toEqual(over(NOVA));
    expect(roundOf({ round: { ...playing(10), winner: undefined } })?.winner).toBeNull();
  });

  it('is ignored when it does not have the round shape', () => {
    expect(isRound({ number: 1, phase: 'paused', endsAtTick: 5, winner: null })).toBe(false);
    expect(isRound({ number: 1.5, phase: 'over', endsAtTick: 5, winner: null })).toBe(false);
    expect(isRound({ number: 1, phase: 'over', endsAtTick: '5', winner: null })).toBe(false);
    expect(isRound({ number: 1, phase: 'over', endsAtTick: 5, winner: 7 })).toBe(false);
    expect(roundOf({ round: 'soon' })).toBeNull();
  });
});
