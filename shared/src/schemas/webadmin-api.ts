import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DEVICE_ID_PATTERN } from '../topics.js';
import { COMMAND_NAMES, MAX_INTERVAL_MS, MIN_INTERVAL_MS } from './command.js';
import { SENSOR_NAME_PATTERN } from './reading.js';
import type { AlertLiveMessage } from './alerts.js';
import { ReportedState } from './state.js';

/*
 * The web admin's REST API (docs/design.md#web-admin-being-built): one source for the route's validator, its TypeScript
 * type and the OpenAPI document at /docs/json. Times are ISO-8601 UTC strings; `from` is inclusive, `to`
 * exclusive.
 */

/** ISO-8601 instant with an explicit zone (`Z` or `+01:00`); seconds and fractions optional. */
export const ISO_INSTANT_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$';
const Instant = (description: string) =>
  Type.String({ pattern: ISO_INSTANT_PATTERN, description: `${description} (ISO-8601 with zone)` });

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));

export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ApiError = Type.Object(
  {
    error: Type.String({ description: 'stable code: bad_request, unauthorized, forbidden, not_found, …' }),
    message: Type.String({ description: 'for people; names the field for bad input' }),
    field: Type.Optional(
      Type.String({ description: 'where the bad input is, e.g. `querystring.maxPoints`' }),
    ),
  },
  { $id: 'ApiError' },
);
export type ApiError = Static<typeof ApiError>;

export const Health = Type.Object({
  ok: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean() }, { additionalProperties: true })),
});

export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const SessionInfo = Type.Object({
  username: Type.String(),
  role: RoleSchema,
  csrfToken: Type.String({
    description: 'send as `x-csrf-token` on state changes (empty for bearer tokens)',
  }),
});
export type SessionInfo = Static<typeof SessionInfo>;

export const DeviceIdParams = Type.Object({
  id: Type.String({ pattern: DEVICE_ID_PATTERN, description: 'device id' }),
});
export type DeviceIdParams = Static<typeof DeviceIdParams>;

export const LatestValues = Type.Record(
  Type.String(),
  Type.Object({ value: Type.Number(), ts: Type.String() }),
  { description: 'last value per sensor with its measurement time' },
);

export const DeviceSummary = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  online: Type.Boolean(),
  lastSeen: Nullable(Type.String({ description: 'last message from the device (ISO-8601 UTC)' })),
  state: Nullable(
    Type.Intersect([Type.Partial(ReportedState), Type.Object({}, { additionalProperties: true })], {
      description: 'the last reported state (devices/{id}/state), as sent',
    }),
  ),
  stateAt: Nullable(Type.String()),
  lastSeq: Nullable(Type.Integer()),
  latest: LatestValues,
});
export type DeviceSummary = Static<typeof DeviceSummary>;

export const DeviceListQuery = Type.Object(
  {
    search: Type.Optional(Type.String({ maxLength: 100, description: 'part of the id or name' })),
    online: Type.Optional(Type.Boolean()),
    sort: Type.Optional(
      Type.Union([Type.Literal('id'), Type.Literal('name'), Type.Literal('lastSeen')], {
        description: 'id and name ascending, lastSeen newest first (default id)',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: '`next` of the previous page' })),
  },
  { additionalProperties: false },
);
export type DeviceListQuery = Static<typeof DeviceListQuery>;

export const DeviceList = Type.Object({
  devices: Type.Array(DeviceSummary),
  next: Nullable(Type.String({ description: 'cursor of the next page; null on the last' })),
  total: Type.Integer({ description: 'devices matching search and online, all pages' }),
});
export type DeviceList = Static<typeof DeviceList>;

export const RenameBody = Type.Object(
  { name: Nullable(Type.String({ minLength: 1, maxLength: 255 })) },
  { additionalProperties: false },
);
export type RenameBody = Static<typeof RenameBody>;

export const RESOLUTIONS = ['raw', '1m', '1h', '1d'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export const ReadingsQuery = Type.Object(
  {
    sensor: Type.String({ pattern: SENSOR_NAME_PATTERN }),
    from: Type.Optional(Instant('inclusive; default 24 h before `to`')),
    to: Type.Optional(Instant('exclusive; default now')),
    maxPoints: Type.Optional(Type.Integer({ minimum: 10, maximum: 20_000, default: 1000 })),
  },
  { additionalProperties: false },
);
export type ReadingsQuery = Static<typeof ReadingsQuery>;

export const HistoryPoint = Type.Object({
  t: Type.String({ description: 'start of the bucket (the measurement time for raw), ISO-8601 UTC' }),
  avg: Type.Number(),
  min: Type.Number(),
  max: Type.Number(),
  count: Type.Integer({ minimum: 1 }),
});
export type HistoryPoint = Static<typeof HistoryPoint>;

export const ReadingsHistory = Type.Object({
  resolution: Type.Union(
    RESOLUTIONS.map((r) => Type.Literal(r)),
    {
      description: 'the finest of raw, 1m, 1h (1d beyond) whose points fit in maxPoints',
    },
  ),
  points: Type.Array(HistoryPoint),
});
export type ReadingsHistory = Static<typeof ReadingsHistory>;

export const CsvQuery = Type.Object(
  {
    from: Type.Optional(Instant('inclusive; default 24 h before `to`')),
    to: Type.Optional(Instant('exclusive; default now')),
    sensors: Type.Optional(
      Type.String({
        pattern: '^[a-z][a-z0-9_]{0,49}(,[a-z][a-z0-9_]{0,49}){0,31}$',
        description: 'comma-separated sensor names; default every sensor of the device',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CsvQuery = Static<typeof CsvQuery>;

export const COMMAND_STATUSES = ['pending', 'sent', 'succeeded', 'failed', 'expired'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** The shared command schema as the API takes it: the server adds the id; arguments are checked per name. */
export const CommandRequest = Type.Object(
  {
    command: Type.Union(COMMAND_NAMES.map((c) => Type.Literal(c))),
    intervalMs: Type.Optional(
      Type.Integer({
        minimum: MIN_INTERVAL_MS,
        maximum: MAX_INTERVAL_MS,
        description: 'set_interval only',
      }),
    ),
    expiresAt: Type.Optional(Instant('not delivered after this; default 10 min, at most 7 d ahead')),
  },
  { additionalProperties: false },
);
export type CommandRequest = Static<typeof CommandRequest>;

export const CommandAccepted = Type.Object({
  id: Type.String(),
  status: Type.Union(COMMAND_STATUSES.map((s) => Type.Literal(s))),
});

export const CommandView = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  command: Type.String(),
  args: Type.Record(Type.String(), Type.Unknown()),
  status: Type.Union(COMMAND_STATUSES.map((s) => Type.Literal(s))),
  result: Nullable(Type.Record(Type.String(), Type.Unknown())),
  error: Nullable(Type.String()),
  createdBy: Nullable(Type.String()),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  sentAt: Nullable(Type.String()),
  completedAt: Nullable(Type.String()),
});
export type CommandView = Static<typeof CommandView>;

export const CommandIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }),
});

export const CommandListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const CommandList = Type.Object({ commands: Type.Array(CommandView), next: Nullable(Type.String()) });
export type CommandList = Static<typeof CommandList>;

export const StatsQuery = Type.Object(
  {
    windowMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080, default: 60 })),
    deviceLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export const MessageLogQueryParams = Type.Object(
  {
    device: Type.Optional(Type.String({ pattern: DEVICE_ID_PATTERN })),
    from: Type.Optional(Instant('inclusive')),
    to: Type.Optional(Instant('exclusive')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$' })),
  },
  { additionalProperties: false },
);
export type MessageLogQueryParams = Static<typeof MessageLogQueryParams>;

export const MessageLogItem = Type.Object({
  id: Type.Integer(),
  deviceId: Type.String(),
  topic: Type.String(),
  receivedAt: Type.String(),
  outcome: Type.String(),
  reason: Nullable(Type.String()),
  detail: Nullable(Type.String()),
  bytes: Type.Integer(),
  payload: Type.String({ description: 'as received (text; base64 when not UTF-8)' }),
  payloadEncoding: Type.Union([Type.Literal('utf8'), Type.Literal('base64')]),
  payloadTruncated: Type.Boolean(),
  readings: Type.Integer(),
  stored: Type.Integer(),
  duplicates: Type.Integer(),
  rejected: Type.Integer(),
});
export const MessageLogPage = Type.Object({
  messages: Type.Array(MessageLogItem),
  next: Nullable(Type.String()),
});
export type MessageLogPage = Static<typeof MessageLogPage>;

export const CompletenessQuery = Type.Object(
  {
    from: Type.Optional(Instant('inclusive; default 7 days before `to`, rounded down to a UTC day')),
    to: Type.Optional(Instant('exclusive; default now')),
  },
  { additionalProperties: false },
);
export type CompletenessQuery = Static<typeof CompletenessQuery>;

export const GAP_CAUSES = ['backlog', 'not_attributed'] as const;

export const SeqGap = Type.Object({
  fromSeq: Type.Integer(),
  toSeq: Type.Integer(),
  count: Type.Integer(),
  after: Nullable(Type.String({ description: 'measured_at of the last stored reading before the gap' })),
  before: Nullable(Type.String({ description: 'measured_at of the first stored reading after the gap' })),
  cause: Type.Union(
    GAP_CAUSES.map((c) => Type.Literal(c)),
    {
      description:
        'backlog: still in the device outbox (seq ≥ oldestUnackedSeq: not yet delivered); not_attributed: ' +
        'missing, but the device and receiver count drops, power-cut losses and rejections without their seqs, ' +
        'so the cause of one gap cannot be named (compare the totals in `accounting`)',
    },
  ),
});

export const CompletenessDay = Type.Object({
  day: Type.String({ description: 'UTC day, YYYY-MM-DD' }),
  stored: Type.Integer({ description: 'readings (distinct seqs) stored, by measurement day' }),
  firstSeq: Nullable(Type.Integer()),
  lastSeq: Nullable(Type.Integer()),
  issued: Type.Integer({ description: 'lastSeq - firstSeq + 1 + the gap seqs charged to this day' }),
  missing: Type.Integer({ description: 'seqs in gaps charged to this day' }),
  rejected: Type.Record(Type.String(), Type.Integer(), {
    description: 'readings the receiver rejected, by reason (received that day; counted, not numbered)',
  }),
  gaps: Type.Array(SeqGap),
});

export const Completeness = Type.Object({
  deviceId: Type.String(),
  from: Type.String(),
  to: Type.String(),
  device: Type.Object({
    lastSeqIssued: Nullable(Type.Integer({ description: 'reported state lastSeq' })),
    lastSeqStored: Nullable(Type.Integer()),
    backlog: Nullable(Type.Integer()),
    oldestUnackedSeq: Nullable(Type.Integer()),
    droppedByOutboxBound: Nullable(Type.Integer({ description: 'device total since its outbox began' })),
    lostInPowerCut: Nullable(Type.Integer({ description: 'sensor redisLostAppends, device total' })),
    rejectedAsReported: Nullable(
      Type.Integer({ description: 'device total of readings the backend rejected' }),
    ),
    seqConflicts: Nullable(Type.Integer()),
    stateAt: Nullable(Type.String()),
  }),
  days: Type.Array(CompletenessDay),
  accounting: Type.Object({
    missing: Type.Integer({
      description: 'seqs in gaps up to lastSeqIssued, outside the backlog, in the range',
    }),
    backlog: Type.Integer({ description: 'gap seqs still in the device outbox' }),
    explainedByDeviceCounts: Type.Integer({
      description: 'min(missing, dropped + lost in power cut + rejected): what the counters account for',
    }),
    unexplained: Type.Integer({
      description: 'missing that no counter accounts for (0 = nothing else went missing)',
    }),
    gapsTruncated: Type.Boolean(),
  }),
  notes: Type.Array(Type.String()),
});
export type Completeness = Static<typeof Completeness>;

/** WebSocket /ws: what the page sends. */
export const LiveSubscribe = Type.Object({
  subscribe: Type.Union([
    Type.Literal('*'),
    Type.Array(Type.String({ pattern: DEVICE_ID_PATTERN }), { maxItems: 5000 }),
  ]),
});
export type LiveSubscribe = Static<typeof LiveSubscribe>;

/** WebSocket /ws: what the server sends (one JSON object per frame). */
export type LiveMessage =
  | { type: 'reading'; deviceId: string; seq: number; ts: string; values: Record<string, number> }
  | { type: 'device'; deviceId: string; online?: boolean; state?: Record<string, unknown> }
  | { type: 'command'; command: CommandView }
  | AlertLiveMessage
  | { type: 'dropped'; count: number; message: string }
  | { type: 'subscribed'; devices: string[] | '*' }
  | { type: 'error'; message: string };

/** Accounts (admin). */
export const UsernameParams = Type.Object({ username: Type.String({ pattern: USERNAME_PATTERN }) });
export type UsernameParams = Static<typeof UsernameParams>;

export const UserView = Type.Object({
  username: Type.String(),
  role: RoleSchema,
  createdAt: Type.String(),
  lastLoginAt: Nullable(Type.String()),
  sessions: Type.Integer({ description: 'open sessions' }),
  tokens: Type.Integer({ description: 'API tokens' }),
});
export type UserView = Static<typeof UserView>;

export const UserList = Type.Object({ users: Type.Array(UserView) });

export const NewUser = Type.Object(
  {
    username: Type.String({ pattern: USERNAME_PATTERN }),
    role: RoleSchema,
    password: Type.Optional(
      Type.String({ minLength: 8, maxLength: 1024, description: 'omit to get a generated one, shown once' }),
    ),
  },
  { additionalProperties: false },
);
export type NewUser = Static<typeof NewUser>;

export const UserChange = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    password: Type.Optional(
      Type.Union([Type.String({ minLength: 8, maxLength: 1024 }), Type.Literal('generate')], {
        description: 'a new password (ends the user’s sessions); "generate" for a random one, shown once',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserChange = Static<typeof UserChange>;

export const UserSaved = Type.Object({
  user: UserView,
  generatedPassword: Type.Optional(Type.String({ description: 'only when one was generated: shown once' })),
});

export const TokenView = Type.Object({
  id: Type.String(),
  username: Type.String(),
  label: Nullable(Type.String()),
  createdAt: Type.String(),
  lastUsedAt: Nullable(Type.String()),
});
export const TokenList = Type.Object({ tokens: Type.Array(TokenView) });
export const NewToken = Type.Object(
  { label: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) },
  { additionalProperties: false },
);
export const TokenCreated = Type.Object({
  id: Type.String(),
  token: Type.String({ description: 'shown once; send as Authorization: Bearer <token>' }),
});
export const TokenIdParams = Type.Object({ id: Type.String({ pattern: '^tok_[0-9a-f]{1,28}$' }) });

export const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$' })),
    actor: Type.Optional(Type.String({ maxLength: 64 })),
    action: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);
export const AuditEntryView = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  actor: Nullable(Type.String()),
  action: Type.String(),
  target: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  detail: Nullable(Type.Record(Type.String(), Type.Unknown())),
});
export const AuditPage = Type.Object({ entries: Type.Array(AuditEntryView), next: Nullable(Type.String()) });
