import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where a bench ran: the first fields of every result's `machine` block. */
export function machineBasics(): { cores: number; cpu_model: string; node: string } {
  const cpus = os.cpus();
  return { cores: cpus.length, cpu_model: cpus[0]?.model ?? 'unknown', node: process.version };
}

/** Writes a bench result as indented JSON with a final newline, creating its folder. */
export function writeBenchJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
