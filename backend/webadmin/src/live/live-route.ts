import { LiveSubscribe, type LiveMessage } from '@sensorfleet/shared/schemas/webadmin-api';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyPluginAsync } from 'fastify';
import type { LiveHub } from './live-hub.js';

const subscribeCheck = TypeCompiler.Compile(LiveSubscribe);

/**
 * How often an open socket's session or token is checked again: a logout on another replica, a password
 * reset, a removed user or token reach sockets within this (a logout on this replica closes them at once).
 */
const REVALIDATE_MS = 15_000;

/**
 * `/ws`: the access check is the auth plugin's onRequest hook (session cookie or bearer token; a browser's
 * Origin must be ours), done before the upgrade. The page then says which devices it shows.
 */
export const liveRoute: FastifyPluginAsync<{ hub: LiveHub }> = async (app, { hub }) => {
  app.get('/ws', { websocket: true, schema: { hide: true } }, (socket, request) => {
    // The upgraded request's TCP socket is the one the WebSocket writes to: the hub corks it per flush.
    const client = hub.add(socket, request.raw.socket);
    const error = (message: string) =>
      socket.send(JSON.stringify({ type: 'error', message } satisfies LiveMessage));
    const stopWatching = app.onSignOut(request, () => socket.close(4401, 'signed out'));
    // ws reports a frame over maxPayload (and other protocol faults) as an error before it closes the
    // socket with 1009/1002: a client's mistake, logged in a line, not a service fault with a stack.
    socket.on('error', (err: Error) => {
      request.log.info({ reason: err.message }, 'websocket closed on a protocol error');
    });
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
      stopWatching();
      hub.remove(client);
    });
  });
};
