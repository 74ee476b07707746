/**
 * Player names in the lobby: a friendly guest name ("Swift Otter 42") for a player who leaves the
 * name empty, and what to tell a player whose name the server would refuse, in plain words.
 * main.ts calls these; the name rule itself is protocol.ts's `validateName` (the server's rule).
 * The randomness is an argument, so tests pick the names.
 */
import { validateName } from './protocol';

/** The longest name the server accepts, in characters. */
export const MAX_NAME_CHARS = 20;

// At most 7 letters each, so "Adjective Animal 99" stays within the 20 characters of the rule.
const ADJECTIVES = [
  'Swift',
  'Brave',
  'Clever',
  'Sunny',
  'Lucky',
  'Mighty',
  'Quiet',
  'Jolly',
  'Bold',
  'Cosmic',
  'Nimble',
  'Happy',
  'Witty',
  'Zippy',
  'Calm',
  'Fuzzy',
] as const;
const ANIMALS = [
  'Otter',
  'Fox',
  'Panda',
  'Falcon',
  'Koala',
  'Lynx',
  'Badger',
  'Heron',
  'Gecko',
  'Walrus',
  'Puffin',
  'Marmot',
  'Orca',
  'Beaver',
  'Yak',
  'Llama',
] as const;

/** A number in [0, 1), like `Math.random`. */
export type Random = () => number;

function pick<T>(list: readonly T[], random: Random): T {
  const i = Math.min(list.length - 1, Math.floor(random() * list.length));
  return list[Math.max(0, i)]!;
}

/** A guest name like "Swift Otter 42": two words and a number from 10 to 99. */
export function guestName(random: Random = Math.random): string {
  const adjective = pick(ADJECTIVES, random);
  const animal = pick(ANIMALS, random);
  const n = 10 + Math.min(89, Math.floor(random() * 90));
  return `${adjective} ${animal} ${n}`;
}

/** What the lobby does with a typed name. */
export type NameChoice =
  /** Play under this name (valid, trimmed). */
  | { ok: true; name: string; guest: boolean }
  /** Tell the player what to change. */
  | { ok: false; problem: string };

/**
 * The name to play under: the typed one if the server would accept it, `guest` when the field
 * is empty (or only spaces), otherwise what to fix, in plain words.
 */
export function chooseName(typed: string, guest: string): NameChoice {
  if (typed.trim() === '') return { ok: true, name: guest, guest: true };
  const name = validateName(typed);
  if (name !== null) return { ok: true, name, guest: false };
  return { ok: false, problem: nameProblem(typed) };
}

/** Why `typed` (not empty, refused by the name rule) cannot be used, and what to do about it. */
export function nameProblem(typed: string): string {
  const chars = [...typed.trim()].length;
  if (chars > MAX_NAME_CHARS) {
    return `That name is too long: shorten it to ${MAX_NAME_CHARS} characters or fewer (it has ${chars}).`;
  }
  return 'That name has a hidden character in it, often copied along with the text. Type the name again by hand, or leave it empty to play as a guest.';
}
