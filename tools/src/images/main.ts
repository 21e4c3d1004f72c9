/**
 * `npm run image:assemble -- <Dockerfile> [out-dir]`: the folder the image's runtime stage ships, built
 * without Docker (see assemble.ts). Prints the folder and the command the container runs, so the image
 * can be tried by hand: `cd <dir> && node device/sensor/dist/main.js`.
 */
import path from 'node:path';
import { assembleImage } from './assemble.js';
import { REPO_ROOT } from '../harness/repo-root.js';

const [dockerfile, outDir] = process.argv.slice(2);
if (!dockerfile) {
  process.stderr.write('usage: npm run image:assemble -- <Dockerfile> [out-dir]\n');
  process.exit(2);
}
try {
  const image = assembleImage({
    dockerfile: path.resolve(process.cwd(), dockerfile),
    context: REPO_ROOT,
    outDir: outDir && path.resolve(process.cwd(), outDir),
    log: (line) => process.stderr.write(`[assemble] ${line}\n`),
  });
  process.stdout.write(
    `${image.dir}\n  workdir ${image.settings.workdir}, user ${image.settings.user ?? 'root'}\n` +
      `  command ${JSON.stringify(image.command)}\n  not emulated: ${image.skipped.join(' | ') || '-'}\n`,
  );
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
