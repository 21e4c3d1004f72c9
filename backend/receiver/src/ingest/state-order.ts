/**
 * Which of two reported states of a device is the newer one. Devices that number their states (`rev`,
 * grows with every state they publish, whatever their wall clock does) are ordered by it; a state without
 * one (older devices, or the stored state from before an upgrade) is ordered by its own `ts`, as always.
 * The SQL upsert (device-registry-writer.ts) applies the same rule to the stored row.
 *
 * Equal counts as newer, so applying the same state twice keeps it (and the order of two replicas'
 * writes does not matter).
 */
export interface StateKey {
  /** The state's own `ts` in ms (receivedAt when it had none that parses). */
  at: number;
  rev?: number | undefined;
}

export function isNewerState(incoming: StateKey, stored: StateKey): boolean {
  if (incoming.rev !== undefined && stored.rev !== undefined) return incoming.rev >= stored.rev;
  return incoming.at >= stored.at;
}
