import { findMessageLog, queryIngestStats } from '@sensorfleet/mariadb';
import { topics, type TopicKind } from '@sensorfleet/shared';
import { IngestStats } from '@sensorfleet/shared/schemas/stats';
import {
  ApiError,
  MessageLogPage,
  MessageLogQueryParams,
  StatsQuery,
} from '@sensorfleet/shared/schemas/webadmin-api';
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from 'mariadb';
import { timeRange } from './time-range.js';

const errors = { 400: ApiError, 401: ApiError, 403: ApiError };

/** message_log.topic_kind → the topic builder that spells it. */
const KIND: Record<string, TopicKind> = {
  telemetry: 'telemetry',
  state: 'state',
  online: 'online',
  data: 'compatData',
  status: 'compatStatus',
  heartbeat: 'compatHeartbeat',
};

export const ingestRoutes: FastifyPluginAsync<{ pool: Pool }> = async (app, { pool }) => {
  app.get<{ Querystring: Static<typeof StatsQuery> }>(
    '/api/stats',
    {
      schema: {
        tags: ['ingest'],
        summary:
          'ingest statistics of the last windowMinutes: totals, rejections by reason, per-device rates',
        querystring: StatsQuery,
        response: { 200: IngestStats, ...errors },
      },
    },
    async (request) =>
      queryIngestStats(pool, {
        windowMinutes: request.query.windowMinutes ?? 60,
        deviceLimit: request.query.deviceLimit ?? 100,
      }),
  );

  app.get<{ Querystring: MessageLogQueryParams }>(
    '/api/message-log',
    {
      schema: {
        tags: ['ingest'],
        summary: 'raw inbound messages kept by the receiver (MESSAGE_LOG), newest first',
        querystring: MessageLogQueryParams,
        response: { 200: MessageLogPage, ...errors },
      },
    },
    async (request) => {
      const q = request.query;
      if (q.from !== undefined || q.to !== undefined)
        timeRange({ from: q.from ?? '1970-01-01T00:00:00Z', to: q.to });
      const limit = q.limit ?? 100;
      const entries = await findMessageLog(pool, {
        deviceId: q.device,
        from: q.from,
        to: q.to,
        beforeId: q.cursor !== undefined ? Number(q.cursor) : undefined,
        limit: limit + 1,
      });
      const page = entries.slice(0, limit);
      return {
        messages: page.map((e) => ({
          id: e.id,
          deviceId: e.deviceId,
          topic: KIND[e.topicKind]
            ? topics[KIND[e.topicKind]!](e.deviceId)
            : `devices/${e.deviceId}/${e.topicKind}`,
          receivedAt: e.receivedAt,
          outcome: e.outcome,
          reason: e.reason,
          detail: e.detail,
          bytes: e.bytes,
          payload: e.payload,
          payloadEncoding: e.payloadEncoding,
          payloadTruncated: e.payloadTruncated,
          readings: e.readings,
          stored: e.stored,
          duplicates: e.duplicates,
          rejected: e.rejected,
        })),
        next: entries.length > limit && page.length ? String(page[page.length - 1]!.id) : null,
      };
    },
  );
};
