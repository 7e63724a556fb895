#!/usr/bin/env node
// The "seed pipeline": the benchmark contender that stands for what users of
// the seed architecture run today, re-implemented faithfully. It is neither
// crippled nor tuned past what a typical team ships:
//
//   Kafka (kafkajs, consumer.run({ eachMessage }))
//     -> JSON.parse(message.value)
//     -> push one row to an in-memory buffer
//          flushed as ONE multi-row parameterised INSERT through a pg.Pool
//          when it holds 1000 rows, or every 1 s by a timer
//     -> await a Redis SET of the driver's live position (node-redis)
//
// with kafkajs's default auto-commit of offsets.
//
// Configuration (environment; every variable is required, exit 2 if missing):
//   KAFKA_BROKERS  comma-separated host:port list
//   KAFKA_TOPIC    topic to consume (from the earliest offset)
//   KAFKA_GROUP    consumer group id
//   DATABASE_URL   postgres://... connection string
//   TABLE          history table (created beforehand by the orchestrator)
//   REDIS_URL      redis://... URL
//   REDIS_PREFIX   key prefix; keys are `${REDIS_PREFIX}driver:${driverId}`
//
// stdout (one JSON object per line, for the orchestrator):
//   {"first_message_ms": <Date.now()>}      once, when the first message arrives
//   {"consumed": N, "inserted": M}          every second, and once at exit
// stderr: human-readable errors (bad message, database or Redis failure).
// SIGTERM / SIGINT: stop consuming, flush the buffer, disconnect, exit 0.

'use strict';

const { Kafka, logLevel } = require('kafkajs');
const pg = require('pg');
const { createClient } = require('redis');

// ---------------------------------------------------------------------------
// Configuration

const REQUIRED_ENV = [
  'KAFKA_BROKERS',
  'KAFKA_TOPIC',
  'KAFKA_GROUP',
  'DATABASE_URL',
  'TABLE',
  'REDIS_URL',
  'REDIS_PREFIX',
];

function readConfig() {
  // REDIS_PREFIX may legitimately be empty (keys are then `driver:<id>`), so
  // only an unset variable is "missing" for it; the others must be non-empty.
  const missing = REQUIRED_ENV.filter((name) =>
    name === 'REDIS_PREFIX' ? process.env[name] === undefined : !process.env[name]
  );
  if (missing.length > 0) {
    process.stderr.write(
      `seed-pipeline: missing required environment variable(s): ${missing.join(', ')}\n`
    );
    process.exit(2);
  }
  const brokers = process.env.KAFKA_BROKERS.split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0) {
    process.stderr.write('seed-pipeline: KAFKA_BROKERS holds no host:port\n');
    process.exit(2);
  }
  return {
    brokers,
    topic: process.env.KAFKA_TOPIC,
    group: process.env.KAFKA_GROUP,
    databaseUrl: process.env.DATABASE_URL,
    table: process.env.TABLE,
    redisUrl: process.env.REDIS_URL,
    redisPrefix: process.env.REDIS_PREFIX,
  };
}

const config = readConfig();

// The seed flushes its history buffer at 1000 rows or every second.
const FLUSH_ROWS = 1000;
const FLUSH_INTERVAL_MS = 1000;
const PROGRESS_INTERVAL_MS = 1000;
// If a clean shutdown hangs (e.g. the broker went away), give up after this.
const SHUTDOWN_DEADLINE_MS = 30000;

// Column order of the history table; the INSERT names every column.
const COLUMNS = [
  'driver_id',
  'latitude',
  'longitude',
  'recorded_at',
  'region',
  'order_id',
  'speed',
  'heading',
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
];

// The table name comes from the orchestrator; quote it as an identifier
// (allowing schema.table) so it cannot break the statement.
function quoteIdent(name) {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}
const INSERT_PREFIX = `INSERT INTO ${quoteIdent(config.table)} (${COLUMNS.join(', ')}) VALUES `;

// ---------------------------------------------------------------------------
// Counters and stdout protocol

let consumed = 0; // messages received from Kafka (good and bad)
let inserted = 0; // rows the database acknowledged
let badMessages = 0; // messages skipped because they could not be decoded
let failedRows = 0; // rows lost to a failed INSERT (the seed does not retry)
let redisErrors = 0;
let firstMessageSeen = false;

function emit(obj) {
  // stdout to a pipe or file is synchronous on Linux, so lines never interleave.
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function progress() {
  emit({ consumed, inserted });
}

function logError(msg) {
  process.stderr.write(`seed-pipeline: ${msg}\n`);
}

function describe(err) {
  return err && err.message ? err.message : String(err);
}

// ---------------------------------------------------------------------------
// Decoding: the seed's producers are not uniform, so it accepts both the
// camelCase keys (driverId, latitude, longitude) and the short ones
// (driver_id, lat, lng).

function finiteOrNull(v) {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

// Returns { fix } or { error }.
function decode(value) {
  if (value === null || value === undefined) {
    return { error: 'empty message value' };
  }
  let doc;
  try {
    doc = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { error: `invalid JSON: ${describe(err)}` };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { error: 'JSON value is not an object' };
  }
  const driverId = doc.driverId ?? doc.driver_id;
  if (typeof driverId !== 'string' || driverId.length === 0) {
    return { error: 'missing or non-string driverId/driver_id' };
  }
  const lat = finiteOrNull(doc.latitude ?? doc.lat);
  if (lat === null) return { error: 'missing or non-numeric latitude/lat' };
  const lng = finiteOrNull(doc.longitude ?? doc.lng);
  if (lng === null) return { error: 'missing or non-numeric longitude/lng' };
  let tsMs = finiteOrNull(doc.timestamp);
  if (tsMs === null && typeof doc.timestamp === 'string') {
    const parsed = Date.parse(doc.timestamp); // tolerate ISO-8601 strings too
    if (Number.isFinite(parsed)) tsMs = parsed;
  }
  if (tsMs === null) return { error: 'missing or non-numeric timestamp (epoch ms)' };
  const recordedAt = new Date(tsMs);
  if (Number.isNaN(recordedAt.getTime())) {
    return { error: `timestamp out of range: ${doc.timestamp}` };
  }
  const orderId = doc.order_id ?? doc.orderId ?? null;
  return {
    fix: {
      driverId,
      lat,
      lng,
      tsMs,
      recordedAt,
      region: typeof doc.state === 'string' ? doc.state : null,
      orderId: orderId === null ? null : String(orderId),
      speed: finiteOrNull(doc.speed),
      heading: finiteOrNull(doc.heading),
    },
  };
}

// ---------------------------------------------------------------------------
// PostgreSQL: a pg.Pool and a buffer of rows flushed as one multi-row INSERT.

const pool = new pg.Pool({ connectionString: config.databaseUrl });
// An idle pooled connection that dies emits 'error' on the pool; without a
// listener that would crash the process.
pool.on('error', (err) => logError(`PostgreSQL pool error: ${describe(err)}`));

let buffer = []; // each entry: array of 11 parameter values, in COLUMNS order
const inFlight = new Set(); // flush promises not yet settled

// Takes the current buffer (synchronously, so rows pushed meanwhile go into
// the next batch) and INSERTs it as one statement with $1..$N placeholders.
// 1000 rows x 11 columns = 11,000 parameters, well under PostgreSQL's 65,535.
// A failed INSERT is logged and its rows are dropped: the seed has no retry
// and no dead-letter path (and, with auto-commit, their offsets may already
// be committed), so this is faithful at-most-once behaviour.
function flush() {
  if (buffer.length === 0) return Promise.resolve();
  const rows = buffer;
  buffer = [];
  const params = new Array(rows.length * COLUMNS.length);
  const tuples = new Array(rows.length);
  let p = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const ph = new Array(COLUMNS.length);
    for (let c = 0; c < COLUMNS.length; c++) {
      params[p] = row[c];
      p++;
      ph[c] = `$${p}`;
    }
    tuples[r] = `(${ph.join(',')})`;
  }
  const sql = INSERT_PREFIX + tuples.join(',');
  const promise = pool
    .query(sql, params)
    .then((res) => {
      inserted += res.rowCount;
    })
    .catch((err) => {
      failedRows += rows.length;
      logError(
        `PostgreSQL INSERT of ${rows.length} rows into ${config.table} failed ` +
          `(rows dropped): ${describe(err)}`
      );
    })
    .finally(() => inFlight.delete(promise));
  inFlight.add(promise);
  return promise;
}

// ---------------------------------------------------------------------------
// Redis: the live position of each driver, one SET per fix.

const redis = createClient({ url: config.redisUrl });
// node-redis emits 'error' on connection problems (and reconnects by itself);
// an unhandled 'error' event would crash the process.
redis.on('error', (err) => logError(`Redis client error: ${describe(err)}`));

// ---------------------------------------------------------------------------
// Kafka

const kafka = new Kafka({
  clientId: 'fleethost-seed-pipeline',
  brokers: config.brokers,
  logLevel: logLevel.WARN,
});

// Short session timeout: the test broker (Tansu) takes about half the
// session timeout to complete a group join, so kafkajs's 30 s default would
// make every (re)join take ~15 s. Everything else is kafkajs's default,
// as in the seed: one partition at a time, autoCommit on.
const consumer = kafka.consumer({
  groupId: config.group,
  sessionTimeout: 6000,
  heartbeatInterval: 1000,
});

consumer.on(consumer.events.CRASH, (e) => {
  const { error, restart } = e.payload;
  logError(`Kafka consumer crashed (${restart ? 'restarting' : 'not restarting'}): ${describe(error)}`);
  if (!restart) shutdown('consumer crash', 1);
});

// The per-message handler, as the seed writes it. kafkajs calls it for one
// message at a time per partition and, with its default autoCommit, resolves
// the message's offset when it returns and commits resolved offsets after
// each fetched batch. Rows still in the buffer at that point are therefore
// committed before they are in PostgreSQL: a crash loses them (at-most-once
// for the history). That is what the seed does; we keep it.
async function eachMessage({ topic, partition, message }) {
  consumed++;
  if (!firstMessageSeen) {
    firstMessageSeen = true;
    emit({ first_message_ms: Date.now() });
  }

  const { fix, error } = decode(message.value);
  if (error) {
    badMessages++;
    logError(
      `skipping bad message at ${topic}/${partition}@${message.offset} ` +
        `(${badMessages} skipped so far): ${error}`
    );
    return; // no dead-letter topic in the seed; the offset is committed anyway
  }

  // History: buffer the row; the 1000th row triggers the flush, awaited here
  // (the 1 s timer flushes partial buffers).
  buffer.push([
    fix.driverId,
    fix.lat,
    fix.lng,
    fix.recordedAt,
    fix.region,
    fix.orderId,
    fix.speed,
    fix.heading,
    topic,
    partition,
    message.offset, // a decimal string; pg sends it as text for the bigint
  ]);
  if (buffer.length >= FLUSH_ROWS) {
    await flush();
  }

  // Live tracking: overwrite the driver's position, awaited per fix.
  try {
    await redis.set(
      `${config.redisPrefix}driver:${fix.driverId}`,
      JSON.stringify({ lat: fix.lat, lng: fix.lng, ts_ms: fix.tsMs })
    );
  } catch (err) {
    redisErrors++;
    logError(`Redis SET for driver ${fix.driverId} failed: ${describe(err)}`);
  }
}

// ---------------------------------------------------------------------------
// Lifecycle

let flushTimer = null;
let progressTimer = null;
let shuttingDown = false;

async function shutdown(reason, exitCode = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  const deadline = setTimeout(() => {
    logError(`shutdown did not finish within ${SHUTDOWN_DEADLINE_MS} ms; exiting`);
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();

  let code = exitCode;
  try {
    // Stop fetching first: disconnect waits for the running eachMessage to
    // return and commits the resolved offsets, so no row arrives after this.
    await consumer.disconnect();
  } catch (err) {
    logError(`Kafka disconnect failed: ${describe(err)}`);
    code = code || 1;
  }
  if (flushTimer) clearInterval(flushTimer);
  if (progressTimer) clearInterval(progressTimer);
  flush();
  await Promise.allSettled([...inFlight]);
  try {
    await pool.end();
  } catch (err) {
    logError(`PostgreSQL pool close failed: ${describe(err)}`);
  }
  try {
    if (redis.isOpen) {
      // node-redis v5 names it close(); v4 had quit(). Both drain pending replies.
      await (typeof redis.close === 'function' ? redis.close() : redis.quit());
    }
  } catch (err) {
    logError(`Redis close failed: ${describe(err)}`);
  }
  progress();
  logError(
    `stopped (${reason}): consumed ${consumed}, inserted ${inserted}, ` +
      `bad messages skipped ${badMessages}, rows lost to failed INSERTs ${failedRows}, ` +
      `Redis SET failures ${redisErrors}`
  );
  process.exit(code);
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

async function main() {
  progressTimer = setInterval(progress, PROGRESS_INTERVAL_MS);

  // Fail fast on a bad DATABASE_URL rather than at the first flush.
  const client = await pool.connect();
  client.release();
  await redis.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [config.topic], fromBeginning: true });

  // The seed's time-based flush: a partial buffer waits at most ~1 s.
  flushTimer = setInterval(() => {
    flush();
  }, FLUSH_INTERVAL_MS);

  await consumer.run({ eachMessage });
}

main().catch((err) => {
  logError(`startup failed: ${describe(err)}`);
  shutdown('startup failure', 1);
});
