import { describe } from 'vitest';
import { forwarderStoreContract } from './forwarder-store.contract.js';
import { MemoryStore } from './support/memory-store.js';

describe('MemoryStore (the forwarder tests’ outbox) keeps the ForwarderStore contract', () => {
  forwarderStoreContract(async () => {
    const store = new MemoryStore();
    return {
      store,
      append: async (ts, value) => store.append(ts, value),
      rollBackTo: async (seq) => {
        for (const s of store.entries.keys()) if (s > seq) store.entries.delete(s);
        store.counter = seq;
      },
      rejected: async () => store.rejected,
      drop: async (seq) => store.drop(seq),
      dropped: async () => store.dropped,
    };
  });
});
