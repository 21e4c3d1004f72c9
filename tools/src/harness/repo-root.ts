import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tools/src/harness and tools/dist/harness alike → ../../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
