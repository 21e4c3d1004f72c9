import WebSocket from 'ws';

/**
 * The browsers of the live fan-out bench, in a process of their own so their CPU is not counted as the
 * hub's: `node live-fanout-clients.js <ws url> <clients>` (forked with IPC). Each socket subscribes to
 * the whole fleet; the parent asks `count` and gets frames / text frames / bytes summed over all sockets.
 */
const [url, clientsArg] = process.argv.slice(2);
const counts = { frames: 0, textFrames: 0, bytes: 0, readings: 0 };
const sockets: WebSocket[] = [];

async function open(): Promise<void> {
  for (let i = 0; i < Number(clientsArg); i++) {
    const ws = new WebSocket(url!);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      counts.frames++;
      counts.bytes += data.length;
      if (!isBinary) counts.textFrames++;
      // The type is near the start of every frame: no parse needed to tell readings apart.
      if (data.indexOf('"type":"reading"') !== -1) counts.readings++;
    });
    ws.send(JSON.stringify({ subscribe: '*' }));
    sockets.push(ws);
  }
}

process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'count') process.send?.({ ...counts });
  if (msg.cmd === 'stop') {
    for (const s of sockets) s.terminate();
    process.disconnect();
  }
});

open().then(
  () => process.send?.({ ready: true }),
  (err: unknown) => {
    process.stderr.write(`live fan-out clients: ${String(err)}\n`);
    process.exit(1);
  },
);
