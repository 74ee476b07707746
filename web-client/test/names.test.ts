import { describe, expect, it } from 'vitest';
import { MAX_NAME_CHARS, chooseName, guestName, nameProblem } from '../src/names';
import { validateName } from '../src/protocol';

/** A `Math.random` stand-in returning `values` in turn. */
const sequence =
  (...values: number[]) =>
  () =>
    values.shift() ?? 0;

describe('guest names', () => {
  it('are two friendly words and a number', () => {
    expect(guestName(sequence(0, 0, 0))).toBe('Swift Otter 10');
    expect(guestName(sequence(0.5, 0.999, 0.999))).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+ 99$/);
  });

  it('always pass the server name rule, whatever the random numbers', () => {
    const steps = 97;
    for (let i = 0; i < steps; i++) {
      for (let j = 0; j < steps; j++) {
        const name = guestName(sequence((i * 7) / steps, j / steps, ((i + j) % steps) / steps));
        expect(validateName(name)).toBe(name);
        expect([...name].length).toBeLessThanOrEqual(MAX_NAME_CHARS);
      }
    }
    // Even a random source that returns 1 (out of its range) gives a valid name.
    expect(validateName(guestName(() => 1))).not.toBeNull();
  });
});

describe('choosing the name to play under', () => {
  it('an empty name plays as the guest', () => {
    expect(chooseName('', 'Swift Otter 42')).toEqual({
      ok: true,
      name: 'Swift Otter 42',
      guest: true,
    });
    expect(chooseName('   ', 'Swift Otter 42')).toMatchObject({ ok: true, guest: true });
  });

  it('a valid name plays as typed, trimmed', () => {
    expect(chooseName('  alice ', 'Swift Otter 42')).toEqual({
      ok: true,
      name: 'alice',
      guest: false,
    });
  });

  it('a name that is too long says how long it may be', () => {
    const choice = chooseName('a'.repeat(27), 'g');
    expect(choice).toEqual({
      ok: false,
      problem: 'That name is too long: shorten it to 20 characters or fewer (it has 27).',
    });
  });

  it('a name with an invisible character says what to do, in plain words', () => {
    const choice = chooseName('al\u200bice', 'g');
    expect(choice.ok).toBe(false);
    const problem = choice.ok ? '' : choice.problem;
    expect(problem).toMatch(/type the name again by hand/i);
    expect(problem).toMatch(/leave it empty to play as a guest/i);
    expect(problem).not.toMatch(/control|invisible/i);
    expect(nameProblem('bob\u0007')).toBe(problem);
  });
});
