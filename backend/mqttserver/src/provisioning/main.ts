import { runCli } from './cli.js';

/** `npm run device -- <add|remove|list|service> …`: broker accounts of devices and services (cli.ts). */
process.exitCode = await runCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
