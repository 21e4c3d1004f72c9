import { Redis } from 'ioredis';

/**
 * A client of `url` that records the name of every command it sends (lower case, as ioredis names them):
 * tests check how many round trips an operation costs the device, which runs it every second or so.
 */
export function commandLoggingClient(url: string): { client: Redis; sent: string[] } {
  const client = new Redis(url);
  const sent: string[] = [];
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    sent.push(command.name);
    return send(command, stream);
  };
  return { client, sent };
}
