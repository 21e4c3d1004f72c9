/**
 * What the status LED shows, as a pure function of the measuring state and time:
 * - stopped → off
 * - running, everything acknowledged by the backend → steady on
 * - running with a backlog (readings not yet acked, e.g. the link is down) → blinking at 1 Hz
 */

export interface LedState {
  running: boolean;
  /** Readings in the outbox not yet acknowledged by the backend. */
  backlog: number;
}

export type LedMode = 'off' | 'on' | 'blink';

/** Blink period: 1 Hz, half on, half off. */
export const LED_BLINK_PERIOD_MS = 1000;

export function ledMode(state: LedState): LedMode {
  if (!state.running) return 'off';
  return state.backlog > 0 ? 'blink' : 'on';
}

/** The LED level at `atMs`; blinking is on during the first half of each second. */
export function ledLevel(state: LedState, atMs: number): boolean {
  switch (ledMode(state)) {
    case 'off':
      return false;
    case 'on':
      return true;
    case 'blink': {
      const phase = ((atMs % LED_BLINK_PERIOD_MS) + LED_BLINK_PERIOD_MS) % LED_BLINK_PERIOD_MS;
      return phase < LED_BLINK_PERIOD_MS / 2;
    }
  }
}
