import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { receiverEnv } from '@sensorfleet/receiver/config';
import { findBinary } from '../src/harness/binaries.js';
import { BULK_PATH_NICE, niceWeight } from '../src/harness/cpu-priority.js';
import { REPO_ROOT } from '../src/harness/repo-root.js';
import { contextFilter } from '../src/images/assemble.js';
import { environmentOf, envProblems } from '../src/images/compose-rules.js';
import { parseCopy, parseDockerfile, stageSettings } from '../src/images/dockerfile.js';

/**
 * docker-compose.backend.yml as Compose reads it (Debian's `docker-compose config`, with .env.example as
 * the .env): builds, healthchecks and start order, the env every service requires, the volumes that hold
 * state, and secrets that only ever come from .env.
 */
type Service = {
  build?: { context: string; dockerfile?: string };
  image?: string;
  environment?: Record<string, string>;
  volumes?: (string | { source?: string; target: string; type: string })[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  cpu_shares?: number;
};
const FILE = path.join(REPO_ROOT, 'docker-compose.backend.yml');

function composeConfig(): { services: Record<string, Service>; volumes: Record<string, unknown> } {
  const out = execFileSync(
    findBinary('docker-compose', 'DOCKER_COMPOSE_BIN'),
    ['-f', FILE, '--env-file', path.join(REPO_ROOT, '.env.example'), '--profile', 'webadmin', 'config'],
    { cwd: REPO_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  return parseYaml(out) as ReturnType<typeof composeConfig>;
}

const config = composeConfig();
const services = config.services;
const mounts = (s: Service) =>
  (s.volumes ?? []).map((v) =>
    typeof v === 'string' ? v.replace(/:(rw|ro)$/, '') : `${v.source ?? ''}:${v.target}`,
  );

describe('docker-compose.backend.yml', () => {
  it('is valid for docker-compose and has the whole backend', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'broker-metrics',
        'grafana',
        'mailpit',
        'mariadb',
        'mqttserver',
        'mysqld-exporter',
        'prometheus',
        'receiver-1',
        'receiver-2',
        'webadmin',
      ].sort(),
    );
  });

  it('builds from Dockerfiles that exist, each with an ignore file that lets its COPY sources through', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.build) continue;
      const dockerfile = path.resolve(s.build.context, s.build.dockerfile ?? 'Dockerfile');
      expect(existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
      expect(existsSync(`${dockerfile}.dockerignore`), `${name}: ${dockerfile}.dockerignore`).toBe(true);
      const inContext = contextFilter(dockerfile, s.build.context);
      const df = parseDockerfile(readFileSync(dockerfile, 'utf8'), dockerfile);
      for (const stage of df.stages) {
        for (const ins of stage.instructions.filter((i) => i.keyword === 'COPY')) {
          const copy = parseCopy(ins.args);
          if (copy.from !== undefined) continue;
          for (const src of copy.sources) {
            const probe = src.endsWith('/') ? `${src}package.json` : src;
            expect(inContext(probe), `${name}: COPY ${src} is ignored`).toBe(true);
          }
        }
      }
      // And the big or secret things stay out of the context.
      for (const out of ['node_modules/x/index.js', '.env', 'device/sensor/src/main.ts', '.data/x']) {
        expect(inContext(out), `${name}: ${out} in the context`).toBe(false);
      }
    }
  });

  it('has a healthcheck (compose or image) for everything another service waits for', () => {
    const healthy = (name: string) => {
      const s = services[name]!;
      if (s.healthcheck) return true;
      if (!s.build) return false;
      const file = path.resolve(s.build.context, s.build.dockerfile ?? 'Dockerfile');
      const df = parseDockerfile(readFileSync(file, 'utf8'));
      return stageSettings(df, df.stages.at(-1)!).healthcheck !== undefined;
    };
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(condition, `${name} → ${dep}`).toBe('service_healthy');
        expect(healthy(dep), `${dep} has no healthcheck`).toBe(true);
      }
    }
    for (const name of [
      'mqttserver',
      'mariadb',
      'receiver-1',
      'receiver-2',
      'webadmin',
      'prometheus',
      'grafana',
    ]) {
      expect(healthy(name), name).toBe(true);
    }
  });

  it('gives both receivers what their env schema requires, one shared group, distinct stable replica ids', () => {
    const ids = new Set<string>();
    for (const name of ['receiver-1', 'receiver-2']) {
      const env = environmentOf(services[name]!);
      expect(envProblems(receiverEnv, env), name).toEqual([]);
      expect(env.MQTT_USERNAME).toBe('receiver');
      expect(env.RECEIVER_SHARED ?? 'true').toBe('true');
      ids.add(env.RECEIVER_REPLICA_ID!);
    }
    expect([...ids]).toEqual(['receiver-1', 'receiver-2']);
    const webadmin = environmentOf(services.webadmin!);
    for (const v of [
      'DATABASE_URL',
      'MQTT_URL',
      'MQTT_PASSWORD',
      'PUBLIC_URL',
      'SMTP_URL',
      'ALERT_MAIL_FROM',
    ]) {
      expect(webadmin[v], `webadmin ${v}`).toBeTruthy();
    }
    expect(webadmin).toMatchObject({ MQTT_USERNAME: 'webadmin', HTTP_PORT: '8080' });
  });

  it('puts the bulk path (receivers, MariaDB) behind the live path (broker, web admin) for the CPU', () => {
    const shares = (name: string) => services[name]?.cpu_shares ?? 1024;
    // The weight the system bench and the local stack run them at (niceness BULK_PATH_NICE).
    expect(Math.abs(shares('receiver-1') - niceWeight(BULK_PATH_NICE))).toBeLessThanOrEqual(2);
    for (const bulk of ['receiver-1', 'receiver-2', 'mariadb'])
      expect(shares(bulk)).toBe(shares('receiver-1'));
    for (const live of ['mqttserver', 'webadmin']) expect(shares(live)).toBe(1024);
  });

  it('keeps the database, broker accounts/state/certs, Prometheus and Grafana state on named volumes', () => {
    expect(mounts(services.mariadb!)).toContain('mariadb-data:/var/lib/mysql');
    expect(mounts(services.mqttserver!)).toEqual(
      expect.arrayContaining([
        'mqtt-auth:/mosquitto/auth',
        'mqtt-data:/mosquitto/data',
        'mqtt-certs:/mosquitto/certs',
      ]),
    );
    expect(mounts(services.prometheus!)).toContain('prometheus-data:/prometheus');
    expect(mounts(services.grafana!)).toContain('grafana-data:/var/lib/grafana');
    for (const v of [
      'mariadb-data',
      'mqtt-auth',
      'mqtt-data',
      'mqtt-certs',
      'prometheus-data',
      'grafana-data',
    ]) {
      expect(config.volumes).toHaveProperty(v);
    }
  });

  it('takes every secret from .env, and .env.example documents each variable the file uses', () => {
    const raw = readFileSync(FILE, 'utf8');
    const used = new Set([...raw.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    const example = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
    // No literal password in the compose file: each one is a ${…} from .env.
    for (const m of raw.matchAll(/^\s*([A-Z_]*PASSWORD|MQTT_PASS):\s*(.+)$/gm)) {
      expect(m[2], m[1]).toMatch(/^\$\{[A-Z0-9_]+:\?/);
    }
    // .env itself is never committed.
    const ignored = execFileSync('git', ['check-ignore', '.env'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(ignored.trim()).toBe('.env');
  });

  it('provisions the broker’s service accounts on first run and lets the monitor read $SYS only', () => {
    const entrypoint = readFileSync(path.join(REPO_ROOT, 'backend/mqttserver/docker-entrypoint.sh'), 'utf8');
    expect(entrypoint).toMatch(/for account in receiver webadmin monitor; do/);
    const env = environmentOf(services.mqttserver!);
    for (const v of ['MQTT_RECEIVER_PASSWORD', 'MQTT_WEBADMIN_PASSWORD', 'MQTT_MONITOR_PASSWORD']) {
      expect(env[v], v).toBeTruthy();
    }
    const acl = readFileSync(path.join(REPO_ROOT, 'backend/mqttserver/acl'), 'utf8');
    expect(acl.slice(acl.indexOf('user monitor')).trim().split('\n').slice(1)).toEqual(['topic read $SYS/#']);
  });
});

/**
 * docker-compose.cluster.yml (README "Scaling out"): valid for docker-compose, three RabbitMQ nodes with
 * one cookie behind HAProxy, three Galera nodes, receivers on the AMQP intake listing every node.
 */
describe('docker-compose.cluster.yml', () => {
  const CLUSTER_FILE = path.join(REPO_ROOT, 'docker-compose.cluster.yml');
  const out = execFileSync(
    findBinary('docker-compose', 'DOCKER_COMPOSE_BIN'),
    ['-f', CLUSTER_FILE, '--env-file', path.join(REPO_ROOT, '.env.example'), 'config'],
    { cwd: REPO_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  const cluster = parseYaml(out) as { services: Record<string, Service & { hostname?: string }> };
  const svc = cluster.services;
  const rabbits = ['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3'];
  const galeras = ['galera-1', 'galera-2', 'galera-3'];

  it('has 3 RabbitMQ nodes, HAProxy, 3 Galera nodes, receivers and the web admin', () => {
    expect(Object.keys(svc).sort()).toEqual(
      [...rabbits, 'haproxy', ...galeras, 'receiver-1', 'receiver-2', 'webadmin'].sort(),
    );
  });

  it('gives the RabbitMQ nodes stable names, one cookie, the shipped config and their own data', () => {
    const conf = readFileSync(path.join(REPO_ROOT, 'backend/rabbitmq/rabbitmq.conf'), 'utf8');
    const cookies = new Set<string>();
    for (const name of rabbits) {
      const s = svc[name]!;
      expect(s.hostname).toBe(name);
      expect(conf).toContain(`= rabbit@${name}`);
      cookies.add(environmentOf(s).RABBITMQ_ERLANG_COOKIE!);
      expect(mounts(s)).toContain(`${name}-data:/var/lib/rabbitmq`);
      expect(mounts(s).some((m) => m.endsWith(':/etc/rabbitmq/conf.d/20-sensorfleet.conf'))).toBe(true);
      expect(s.healthcheck).toBeDefined();
    }
    expect(cookies.size).toBe(1);
    expect(conf).toMatch(/^mqtt\.exchange = amq\.topic$/m);
    expect(conf).toMatch(/^mqtt\.allow_anonymous = false$/m);
    const haproxy = readFileSync(path.join(REPO_ROOT, 'backend/rabbitmq/haproxy.cfg'), 'utf8');
    for (const name of rabbits) expect(haproxy).toContain(`server ${name} ${name}:1883 check`);
  });

  it('runs the receivers on the AMQP intake over every RabbitMQ node and every Galera node', () => {
    const ids = new Set<string>();
    for (const name of ['receiver-1', 'receiver-2']) {
      const env = environmentOf(svc[name]!);
      expect(envProblems(receiverEnv, env), name).toEqual([]);
      expect(env.RECEIVER_INTAKE).toBe('amqp');
      const amqpHosts = env.AMQP_URL!.split(',').map((u) => new URL(u).hostname);
      expect(amqpHosts).toEqual(rabbits);
      const dbHosts = env.DATABASE_URL!.split(',').map((u) => new URL(u).hostname);
      expect(dbHosts).toEqual(galeras);
      ids.add(env.RECEIVER_REPLICA_ID!);
    }
    expect(ids.size).toBe(2);
    expect(environmentOf(svc.webadmin!).MQTT_URL).toBe('mqtt://haproxy:1883');
  });

  it('bootstraps Galera only from an empty galera-1, and takes every secret from .env', () => {
    expect(JSON.stringify(svc['galera-1']!)).toMatch(/grastate\.dat.*--wsrep-new-cluster/);
    for (const name of ['galera-2', 'galera-3'])
      expect(JSON.stringify(svc[name]!)).not.toContain('--wsrep-new-cluster');
    const raw = readFileSync(CLUSTER_FILE, 'utf8');
    const example = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    const used = new Set([...raw.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
    for (const m of raw.matchAll(/^\s*([A-Z_]*(PASSWORD|PASS|COOKIE)):\s*(.+)$/gm)) {
      expect(m[3], m[1]).toMatch(/^\$\{[A-Z0-9_]+:\?/);
    }
  });
});
