/**
 * When to send inputs: one per server tick period, on a schedule of its own rather than at the
 * jittery moments the callbacks happen to run. A client (the demo's game.ts) pumps it from both
 * animation frames and a timer (which keeps running when frames stop, e.g. in a background tab),
 * sends as many inputs
 * as {@link InputSchedule.take} says, and draws our player from {@link InputSchedule.alpha}. Pure:
 * every call takes the time (ms).
 */
export class InputSchedule {
  private next = 0;
  private period: number;

  constructor(periodMs = 1000 / 30) {
    this.period = periodMs;
  }

  /** The period now in use, ms. */
  get periodMs(): number {
    return this.period;
  }

  /** Starts over at `now` with `periodMs`: the first input is due one period later. */
  restart(now: number, periodMs: number): void {
    this.period = periodMs;
    this.next = now + periodMs;
  }

  /**
   * How many inputs are due by `now`, advancing the schedule past them. Each step uses
   * `periodMs` when given (the server's estimated actual period, so a server running slow is not
   * fed more inputs than it simulates). After a stall of over three periods only one is due: the
   * server would drop a burst anyway.
   */
  take(now: number, periodMs?: number): number {
    if (now - this.next > this.period * 3) this.next = now;
    let due = 0;
    while (now >= this.next) {
      this.period = periodMs ?? this.period;
      this.next += this.period;
      due++;
    }
    return due;
  }

  /** How far `now` is into the period since the last input (about 0–1; for drawing). */
  alpha(now: number): number {
    return 1 - (this.next - now) / this.period;
  }
}
