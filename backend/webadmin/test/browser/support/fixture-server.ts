import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
// The built plugin (dist), which finds the bundle next to it, as the service does.
import { pagesPlugin, type PageUser } from '@sensorfleet/webadmin/pages/index';
import { installErrorHandling } from '@sensorfleet/webadmin/errors';
import { registerAlertRoutes, type AlertFixture } from './fixture-alerts.js';

/**
 * A stand-in for the web admin's API with rich, made-up data (offline devices, sensor errors, backlog,
 * gaps, rejections), serving the real pages. It exists to look at the pages in states a fresh test stack
 * never reaches; the browser tests proper run against the real service (fleet.int.test.ts).
 */
export interface Fixture {
  app: FastifyInstance;
  url: string;
  /** The alerts API's data, and a way to send an alert frame as the engine would. */
  alerts: AlertFixture;
  close(): Promise<void>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SENSORS = ['temperature', 'humidity', 'pressure', 'heat_index', 'dew_point'];

function value(sensor: string, seed: number, t: number): number {
  const day = Math.sin(((t / DAY) % 1) * 2 * Math.PI - 1.8);
  const wobble = Math.sin(t / 600_000 + seed) * 0.3;
  switch (sensor) {
    case 'temperature':
      return 19 + seed * 0.4 + day * 3.2 + wobble;
    case 'humidity':
      return 52 - day * 9 + wobble * 3;
    case 'pressure':
      return 1012 + Math.sin(t / (2.5 * DAY) + seed) * 6;
    case 'heat_index':
      return 19.2 + seed * 0.4 + day * 3.4 + wobble;
    default:
      return 9.5 + day * 1.5 + wobble;
  }
}

interface FxDevice {
  id: string;
  name: string | null;
  online: boolean;
  lastSeen: string;
  state: Record<string, unknown>;
  latest: Record<string, { value: number; ts: string }>;
  seed: number;
}

function makeDevices(n: number, now: number): FxDevice[] {
  const sites = ['greenhouse', 'cellar', 'attic', 'lab', 'barn', 'office', 'cold-room', 'workshop'];
  return Array.from({ length: n }, (_, i) => {
    const id =
      n > 20
        ? `sim-${String(i + 1).padStart(4, '0')}`
        : `${sites[i % sites.length]}-${String(i + 1).padStart(2, '0')}`;
    const offline = i % 7 === 3;
    const lastSeen = new Date(offline ? now - (i + 2) * 3_600_000 : now - 1000 * (i % 4)).toISOString();
    const latest = Object.fromEntries(SENSORS.map((s) => [s, { value: value(s, i, now), ts: lastSeen }]));
    return {
      id,
      name: i % 3 === 0 ? `${sites[i % sites.length]} ${['north', 'south', 'east'][i % 3]} bench` : null,
      online: !offline,
      lastSeen,
      seed: i,
      latest,
      state: {
        v: 1,
        running: i % 5 !== 4,
        intervalMs: i % 4 === 1 ? 5000 : 1000,
        backlog: i % 6 === 2 ? 1834 : 0,
        oldestUnackedTs: i % 6 === 2 ? new Date(now - 40 * 60_000).toISOString() : null,
        lastSeq: 86_400 + i * 17,
        dropped: i === 9 ? 120 : 0,
        // Dropped after being sent, waiting for the backend's answer before they count.
        ...(i === 0 || i === 9 ? { dropsUnconfirmed: 14 } : {}),
        rejected: i % 8 === 5 ? 3 : 0,
        seqConflicts: 0,
        sensor:
          i % 9 === 6
            ? { status: 'error', driver: 'bme280', lastError: 'I2C read failed: EREMOTEIO (121)', errors: 14 }
            : {
                status: 'ok',
                driver: i % 2 ? 'bme280' : 'simulated',
                model: i % 2 ? 'BME280' : undefined,
                // One device whose clock was set back (NTP after a boot without RTC): the page's flag.
                ...(i === 0
                  ? {
                      clockJumps: 1,
                      lastClockJump: { at: new Date(now - 20 * 60_000).toISOString(), byMs: -3_600_000 },
                    }
                  : {}),
              },
        version: i % 4 === 0 ? '0.1.0' : '0.1.1',
        uptimeS: 3600 * (5 + i),
        ts: lastSeen,
      },
    };
  });
}

export async function startFixture(
  opts: { devices?: number; role?: PageUser['role'] } = {},
): Promise<Fixture> {
  const now = Date.now();
  const devices = makeDevices(opts.devices ?? 12, now);
  const byId = new Map(devices.map((d) => [d.id, d]));
  const users = [
    {
      username: 'admin',
      role: 'admin',
      createdAt: new Date(now - 40 * DAY).toISOString(),
      lastLoginAt: new Date(now - 60_000).toISOString(),
    },
    {
      username: 'ops-anna',
      role: 'operator',
      createdAt: new Date(now - 20 * DAY).toISOString(),
      lastLoginAt: new Date(now - 3 * HOUR).toISOString(),
    },
    {
      username: 'viewer.kim',
      role: 'viewer',
      createdAt: new Date(now - 2 * DAY).toISOString(),
      lastLoginAt: null,
    },
  ];
  const commands: Record<string, unknown>[] = [
    {
      id: 'c-3',
      deviceId: devices[0]!.id,
      command: 'set_interval',
      args: { intervalMs: 1000 },
      status: 'succeeded',
      result: { intervalMs: 1000 },
      error: null,
      createdBy: 'ops-anna',
      createdAt: new Date(now - 2 * HOUR).toISOString(),
      sentAt: new Date(now - 2 * HOUR + 80).toISOString(),
      completedAt: new Date(now - 2 * HOUR + 240).toISOString(),
    },
    {
      id: 'c-2',
      deviceId: devices[0]!.id,
      command: 'ping',
      args: {},
      status: 'expired',
      result: null,
      error: null,
      createdBy: 'admin',
      createdAt: new Date(now - 30 * HOUR).toISOString(),
      sentAt: null,
      completedAt: new Date(now - 30 * HOUR + 600_000).toISOString(),
    },
    {
      id: 'c-1',
      deviceId: devices[0]!.id,
      command: 'stop',
      args: {},
      status: 'failed',
      result: null,
      error: 'measuring state locked by the button',
      createdBy: 'admin',
      createdAt: new Date(now - 50 * HOUR).toISOString(),
      sentAt: new Date(now - 50 * HOUR + 50).toISOString(),
      completedAt: new Date(now - 50 * HOUR + 150).toISOString(),
    },
  ];
  const sockets = new Set<{ send(s: string): void; subs: '*' | Set<string> }>();
  const broadcast = (deviceId: string, msg: unknown) => {
    for (const s of sockets) if (s.subs === '*' || s.subs.has(deviceId)) s.send(JSON.stringify(msg));
  };

  const app = Fastify();
  // The service's error answers (`{error, message, field}`), so forms see a 400 as they would for real.
  installErrorHandling(app);
  await app.register(fastifyWebsocket);
  const signedIn = (cookie: string | undefined) => /fx_user=1/.test(cookie ?? '');
  const user: PageUser = { username: 'admin', role: opts.role ?? 'admin' };
  await app.register(pagesPlugin, {
    resolveUser: async (req: FastifyRequest) => (signedIn(req.headers.cookie) ? user : undefined),
  });

  app.addHook('onRequest', async (req, reply) => {
    if ((req.url.startsWith('/api/') && req.url !== '/api/session') || req.url === '/ws') {
      if (!signedIn(req.headers.cookie))
        return reply.code(401).send({ error: 'unauthorized', message: 'sign in' });
    }
  });
  app.post('/api/session', async (req, reply) => {
    const body = req.body as { username?: string; password?: string };
    if (body.password !== 'correct horse')
      return reply.code(401).send({ error: 'login_failed', message: 'wrong user name or password' });
    return reply
      .header('set-cookie', 'fx_user=1; Path=/; HttpOnly; SameSite=Lax')
      .send({ ...user, csrfToken: 'fx-csrf' });
  });
  app.get('/api/session', async () => ({ ...user, csrfToken: 'fx-csrf' }));
  app.delete('/api/session', async (_req, reply) =>
    reply.header('set-cookie', 'fx_user=; Path=/; Max-Age=0').code(204).send(),
  );

  app.get('/api/devices', async (req) => {
    const q = req.query as Record<string, string>;
    let list = devices.filter(
      (d) => !q.search || d.id.includes(q.search) || (d.name ?? '').includes(q.search),
    );
    if (q.online) list = list.filter((d) => String(d.online) === q.online);
    if (q.sort === 'lastSeen') list = [...list].sort((a, b) => b.lastSeen.localeCompare(a.lastSeen));
    if (q.sort === 'name') list = [...list].sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id));
    const limit = Number(q.limit) || 100;
    const offset = Number(q.cursor) || 0;
    const page = list.slice(offset, offset + limit);
    return {
      devices: page,
      next: offset + limit < list.length ? String(offset + limit) : null,
      total: list.length,
    };
  });
  app.get('/api/devices/:id', async (req, reply) => {
    const d = byId.get((req.params as { id: string }).id);
    return d ?? reply.code(404).send({ error: 'not_found', message: 'no such device' });
  });
  app.get('/api/devices/:id/readings', async (req) => {
    const q = req.query as Record<string, string>;
    const d = byId.get((req.params as { id: string }).id);
    const to = Date.parse(q.to ?? '') || Date.now();
    const from = Date.parse(q.from ?? '') || to - DAY;
    const max = Number(q.maxPoints) || 1000;
    const steps: [string, number][] = [
      ['raw', 1000],
      ['1m', 60_000],
      ['1h', HOUR],
      ['1d', DAY],
    ];
    const [resolution, step] = steps.find(([, s]) => (to - from) / s <= max) ?? ['1d', DAY];
    const points = [];
    const sensor = q.sensor ?? 'temperature';
    for (let t = Math.ceil(from / step) * step; t < Math.min(to, Date.now()); t += step) {
      // A power cut three days ago: two hours without data, to show how gaps look.
      if (t > Date.now() - 3 * DAY && t < Date.now() - 3 * DAY + 2 * HOUR) continue;
      const v = value(sensor, d?.seed ?? 0, t);
      const spread = resolution === 'raw' ? 0 : resolution === '1m' ? 0.08 : 0.6;
      points.push({
        t: new Date(t).toISOString(),
        avg: v,
        min: v - spread,
        max: v + spread * 1.2,
        count: step / 1000,
      });
    }
    return { resolution, points };
  });
  app.get('/api/devices/:id/readings.csv', async (_req, reply) =>
    reply.type('text/csv').send('seq,measured_at,temperature\n1,2026-11-23T10:00:00.000Z,21.5\n'),
  );
  app.get('/api/devices/:id/commands', async (req) => ({
    commands: commands.filter((c) => c.deviceId === (req.params as { id: string }).id),
    next: null,
  }));
  app.post('/api/devices/:id/commands', async (req, reply) => {
    const deviceId = (req.params as { id: string }).id;
    const body = req.body as { command: string; intervalMs?: number };
    const c: Record<string, unknown> = {
      id: `c-${commands.length + 1}`,
      deviceId,
      command: body.command,
      args: body.intervalMs ? { intervalMs: body.intervalMs } : {},
      status: 'pending',
      result: null,
      error: null,
      createdBy: 'admin',
      createdAt: new Date().toISOString(),
      sentAt: null,
      completedAt: null,
    };
    commands.unshift(c);
    setTimeout(() => {
      Object.assign(c, { status: 'sent', sentAt: new Date().toISOString() });
      broadcast(deviceId, { type: 'command', command: c });
    }, 400);
    setTimeout(() => {
      Object.assign(c, { status: 'succeeded', completedAt: new Date().toISOString(), result: { ok: true } });
      broadcast(deviceId, { type: 'command', command: c });
    }, 900);
    return reply.code(202).send({ id: c.id, status: 'pending' });
  });
  app.get('/api/devices/:id/completeness', async () => {
    const days = Array.from({ length: 7 }, (_, i) => {
      const day = new Date(now - i * DAY).toISOString().slice(0, 10);
      const gap =
        i === 3
          ? [
              {
                fromSeq: 300_001,
                toSeq: 307_200,
                count: 7200,
                after: new Date(now - 3 * DAY).toISOString(),
                before: null,
                cause: 'not_attributed',
              },
            ]
          : [];
      const backlog =
        i === 0
          ? [
              {
                fromSeq: 600_100,
                toSeq: 600_140,
                count: 41,
                after: new Date(now - 60_000).toISOString(),
                before: null,
                cause: 'backlog',
              },
            ]
          : [];
      const missing = gap.reduce((n, g) => n + g.count, 0) + backlog.reduce((n, g) => n + g.count, 0);
      const issued = i === 0 ? 40_000 : 86_400;
      return {
        day,
        stored: issued - missing,
        issued,
        missing,
        firstSeq: 1,
        lastSeq: issued,
        rejected: i === 1 ? { out_of_range: 3 } : {},
        gaps: [...backlog, ...gap],
      };
    });
    return {
      deviceId: 'x',
      from: '',
      to: '',
      days,
      notes: [],
      device: {
        lastSeqIssued: 600_140,
        lastSeqStored: 600_099,
        backlog: 41,
        oldestUnackedSeq: 600_100,
        droppedByOutboxBound: 0,
        lostInPowerCut: 7200,
        rejectedAsReported: 3,
        seqConflicts: 0,
        stateAt: new Date(now - 5000).toISOString(),
      },
      accounting: {
        missing: 7203,
        backlog: 41,
        explainedByDeviceCounts: 7203,
        unexplained: 0,
        gapsTruncated: false,
      },
    };
  });
  app.get('/api/stats', async (req) => {
    const w = Number((req.query as Record<string, string>).windowMinutes) || 60;
    const per = devices.slice(0, 8).map((d, i) => ({
      deviceId: d.id,
      messagesPerMinute: 60 - i * 4,
      storedReadingsPerMinute: 60 - i * 4,
      lastMinute: new Date(now - 60_000).toISOString(),
      messages: (60 - i * 4) * w,
      readings: (60 - i * 4) * w,
      storedReadings: (60 - i * 4) * w - (i === 2 ? 12 : 0),
      duplicateReadings: i === 1 ? 340 : 0,
      rejectedReadings: i === 5 ? 3 : 0,
      rejectedMessages: i === 6 ? 1 : 0,
      storedRows: (60 - i * 4) * w * 5,
    }));
    const sum = (k: string) => per.reduce((n, d) => n + Number((d as Record<string, unknown>)[k]), 0);
    return {
      from: new Date(now - w * 60_000).toISOString(),
      to: new Date(now).toISOString(),
      windowMinutes: w,
      totals: Object.fromEntries(
        [
          'messages',
          'readings',
          'storedReadings',
          'duplicateReadings',
          'rejectedReadings',
          'rejectedMessages',
          'storedRows',
        ].map((k) => [k, sum(k)]),
      ),
      rejectedByReason: [
        { scope: 'reading', reason: 'out_of_range', count: 3 },
        { scope: 'message', reason: 'malformed_json', count: 1 },
      ],
      devices: per,
    };
  });
  app.get('/api/message-log', async () => ({
    messages: [
      {
        id: 3,
        deviceId: devices[6]!.id,
        topic: 'telemetry',
        receivedAt: new Date(now - 90_000).toISOString(),
        outcome: 'rejected',
        reason: 'malformed_json',
        detail: 'Unexpected token < in JSON',
        bytes: 64,
        payload: '{"v":1,"readings":[<img src=x onerror="window.__xss=1">]}',
        payloadEncoding: 'utf8',
        payloadTruncated: false,
        readings: 0,
        stored: 0,
        duplicates: 0,
        rejected: 0,
      },
      {
        id: 2,
        deviceId: devices[5]!.id,
        topic: 'telemetry',
        receivedAt: new Date(now - 3 * HOUR).toISOString(),
        outcome: 'partial',
        reason: 'out_of_range',
        detail: 'humidity 140 > 100',
        bytes: 212,
        payload: JSON.stringify({
          v: 1,
          readings: [
            {
              seq: 88,
              ts: new Date(now - 3 * HOUR).toISOString(),
              values: { temperature: 21.4, humidity: 140 },
            },
            {
              seq: 89,
              ts: new Date(now - 3 * HOUR + 1000).toISOString(),
              values: { temperature: 21.4, humidity: 48.2 },
            },
          ],
        }),
        payloadEncoding: 'utf8',
        payloadTruncated: false,
        readings: 2,
        stored: 1,
        duplicates: 0,
        rejected: 1,
      },
      {
        id: 1,
        deviceId: devices[1]!.id,
        topic: 'status',
        receivedAt: new Date(now - 26 * HOUR).toISOString(),
        outcome: 'applied',
        reason: null,
        detail: null,
        bytes: 31,
        payload: '{"status":"online","battery":87}',
        payloadEncoding: 'utf8',
        payloadTruncated: false,
        readings: 0,
        stored: 0,
        duplicates: 0,
        rejected: 0,
      },
    ],
    next: null,
  }));
  app.get('/api/users', async () => ({ users }));
  app.post('/api/users', async (req, reply) => {
    const b = req.body as { username: string; role: string };
    const user = {
      username: b.username,
      role: b.role,
      createdAt: new Date().toISOString(),
      lastLoginAt: null,
    };
    users.push(user);
    return reply.code(201).send({ user, generatedPassword: 'fixture-generated-pw' });
  });
  app.patch('/api/users/:name', async (req) => {
    const u = users.find((x) => x.username === (req.params as { name: string }).name);
    const b = req.body as { role?: string; password?: string };
    if (u && b.role) u.role = b.role;
    return { user: u, ...(b.password === 'generate' ? { generatedPassword: 'fixture-generated-pw' } : {}) };
  });
  app.delete('/api/users/:name', async (req, reply) => {
    const i = users.findIndex((x) => x.username === (req.params as { name: string }).name);
    if (i >= 0) users.splice(i, 1);
    return reply.code(204).send();
  });

  const alerts = registerAlertRoutes(app, { now, devices, user, value, broadcast });

  app.get('/ws', { websocket: true }, (socket) => {
    const client = { send: (s: string) => socket.send(s), subs: new Set<string>() as '*' | Set<string> };
    sockets.add(client);
    socket.on('message', (raw: Buffer) => {
      const m = JSON.parse(raw.toString()) as { subscribe: '*' | string[] };
      client.subs = m.subscribe === '*' ? '*' : new Set(m.subscribe);
    });
    socket.on('close', () => sockets.delete(client));
  });
  let seq = 1;
  const timer = setInterval(() => {
    const t = new Date().toISOString();
    for (const d of devices.slice(0, 50)) {
      if (!d.online) continue;
      const values = Object.fromEntries(SENSORS.map((s) => [s, value(s, d.seed, Date.now())]));
      broadcast(d.id, { type: 'reading', deviceId: d.id, seq: seq++, ts: t, values });
    }
  }, 1000);

  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    url,
    alerts,
    close: async () => {
      clearInterval(timer);
      await app.close();
    },
  };
}
