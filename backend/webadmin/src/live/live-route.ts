import { LiveSubscribe, type LiveMessage } from '@sensorfleet/shared/schemas/webadmin-api';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyPluginAsync } from 'fastify';
import type { LiveHub } from './live-hub.js';

const subscribeCheck = TypeCompiler.Compile(LiveSubscribe);

/** How often an open socket's session or token is checked again: logout and user removal reach sockets. */
const REVALIDATE_MS = 60_000;

/**
 * `/ws`: the access check is the auth plugin's onRequest hook (session cookie or bearer token; a browser's
 * Origin must be ours), done before the upgrade. The page then says which devices it shows.
 */
export const liveRoute: FastifyPluginAsync<{ hub: LiveHub }> = async (app, { hub }) => {
  app.get('/ws', { websocket: true, schema: { hide: true } }, (socket, request) => {
    const client = hub.add(socket);
    const error = (message: string) =>
      socket.send(JSON.stringify({ type: 'error', message } satisfies LiveMessage));
    const revalidate = setInterval(() => {
      void app.stillSignedIn(request).then(
        (still) => {
          if (!still) socket.close(4401, 'session ended');
        },
        () => undefined, // database briefly away: keep the socket, check again next time
      );
    }, REVALIDATE_MS);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary || data.length > 64 * 1024) return error('send JSON text: {"subscribe": [ids] | "*"}');
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        return error('malformed JSON');
      }
      if (!subscribeCheck.Check(msg))
        return error('expected {"subscribe": ["<device id>", …]} or {"subscribe": "*"}');
      hub.subscribe(client, msg.subscribe);
    });
    socket.on('close', () => {
      clearInterval(revalidate);
      hub.remove(client);
    });
  });
};
