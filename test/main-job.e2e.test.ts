import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uuidV7 } from '@bluelight/clickhouse-sink/testing';
import { portIsFree } from '@bluelight/local-stack';
import { topics } from '@bluelight/schemas';
import { afterAll, describe, expect, it } from 'vitest';
import { distinctFreePorts } from './harness/endpoints.js';
import { clickhouseFor, kafkaFor, testEndpoints, uniqueName, waitFor } from './harness/index.js';

const bin = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../services/cli/bin/bluelight.mjs',
);

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Starts `bluelight run <args>` on the test's engines (named in the environment, so the job
 * starts no stack of its own), with its own database, topics and ports, and waits until it says
 * it is running.
 */
async function startMainJob(args: string[] = []) {
  const endpoints = testEndpoints();
  const home = await mkdtemp(path.join(os.tmpdir(), 'bluelight-main-'));
  cleanups.push(() => rm(home, { recursive: true, force: true }));
  const database = uniqueName('main_job');
  const server = clickhouseFor(endpoints);
  cleanups.push(async () => {
    await server.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await server.close();
  });
  const [gatewayPort, queryPort, sinkPort] = (await distinctFreePorts(3)) as [
    number,
    number,
    number,
  ];
  const prefix = `${uniqueName('main')}.`;

  // Keys from the developer's shell must not reach the job: it makes its own when none is set.
  const {
    GATEWAY_API_KEYS: _g,
    GATEWAY_API_KEYS_FILE: _gf,
    QUERY_API_KEYS: _q,
    QUERY_API_KEYS_FILE: _qf,
    BLUELIGHT_SIMULATOR: _s,
    ...inherited
  } = process.env;
  const child = spawn(process.execPath, [bin, 'run', ...args], {
    env: {
      ...inherited,
      BLUELIGHT_HOME: home,
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      CLICKHOUSE_URL: endpoints.clickhouseUrl,
      CLICKHOUSE_USER: endpoints.clickhouseUser,
      CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
      CLICKHOUSE_DATABASE: database,
      KAFKA_TOPIC_PREFIX: prefix,
      SINK_GROUP_PREFIX: `${prefix}sink`,
      GATEWAY_PORT: String(gatewayPort),
      QUERY_API_PORT: String(queryPort),
      SINK_PORT: String(sinkPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exitOf(child);
    }
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });

  await waitFor(
    '"Bluelight is running."',
    async () => {
      if (child.exitCode !== null) throw new Error('bluelight run exited early');
      // The last line it prints once running: the keys and addresses are all above it.
      return output.includes('Press Ctrl-C to stop.');
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n--- output ---\n${output}`);
  });
  return {
    endpoints,
    database,
    prefix,
    child,
    ports: { gatewayPort, queryPort, sinkPort },
    output: () => output,
  };
}

// What `npm start` runs: every service up, keys made for this machine, and Ctrl-C stopping it all.
describe('the main job (npm start → bluelight run)', () => {
  it('takes an event at the gateway with its local key, lands it, serves it from the query API with its read key, and stops cleanly on Ctrl-C', {
    timeout: 300_000,
  }, async () => {
    const job = await startMainJob();
    const { endpoints, database, child } = job;
    const { gatewayPort, queryPort, sinkPort } = job.ports;
    const output = job.output();
    const keyFile = (label: string) => {
      const match = new RegExp(`${label}[^:]*: (\\S+)`).exec(output);
      if (!match?.[1]) throw new Error(`no "${label}" line in:\n${output}`);
      return match[1];
    };
    const gatewayKey = (await readFile(keyFile('gateway key'), 'utf8')).trim();
    const readKey = (await readFile(keyFile('query API read key'), 'utf8')).trim();

    // A police incident created now, written as the simulated county's police CAD.
    const incidentId = `MAIN-${randomBytes(4).toString('hex').toUpperCase()}`;
    const now = Date.now();
    const event = {
      event_id: uuidV7(now),
      event_type: 'incident.created',
      schema_version: 1,
      occurred_at: new Date(now).toISOString(),
      source: 'staffs-police-cad',
      agency: 'staffordshire-police',
      payload: {
        incident_id: incidentId,
        call_received_at: new Date(now - 60_000).toISOString(),
        details: { service: 'police', grading: 'emergency', area_type: 'rural' },
        location: { station_ground: 'STAFFORD', area: 'Stafford' },
      },
    };
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}/v1/events`;
    const refused = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([event]),
    });
    expect(refused.status).toBe(401);
    const posted = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gatewayKey}` },
      body: JSON.stringify([event]),
    });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toMatchObject({
      accepted: [{ index: 0, event_id: event.event_id }],
      rejected: [],
    });

    // The sink lands it and derives its facts; the query API serves it with the read key.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(
      new Date(now - 60_000),
    );
    // The local read key reads the simulated county's three agencies, so it says which.
    const incidentsUrl = `http://127.0.0.1:${queryPort}/v1/incidents?from=${today}&to=${today}&q=${incidentId}&agency=staffordshire-police`;
    expect((await fetch(incidentsUrl)).status).toBe(401);
    const served = await waitFor(
      'the incident in the query API',
      async () => {
        const response = await fetch(incidentsUrl, {
          headers: { authorization: `Bearer ${readKey}` },
        });
        if (response.status !== 200) throw new Error(`query API answered ${response.status}`);
        const body = (await response.json()) as { incidents: { incident_id: string }[] };
        return body.incidents.length > 0 ? body.incidents : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(served).toEqual([
      expect.objectContaining({
        incident_id: incidentId,
        station: 'STAFFORD',
        police_grading: 'emergency',
      }),
    ]);
    // The read key is the county's: another agency's incidents are not its to read.
    const foreign = await fetch(incidentsUrl.replace('staffordshire-police', 'cheshire-police'), {
      headers: { authorization: `Bearer ${readKey}` },
    });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toBe('forbidden_agency');

    // The simulator's feed (the last 7 days, through Kafka) reaches ClickHouse too.
    const client = clickhouseFor(endpoints, database);
    cleanups.push(() => client.close());
    const simulated = await waitFor(
      'simulated calls in ClickHouse',
      async () => {
        const rows = await client.query({
          query: 'SELECT count() AS n FROM calls_raw WHERE source = {source:String}',
          query_params: { source: 'staffs-telephony' },
          format: 'JSONEachRow',
        });
        const [row] = await rows.json<{ n: string }>();
        return Number(row?.n) > 0 ? Number(row?.n) : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(simulated).toBeGreaterThan(0);

    // Ctrl-C: every service stops and the job exits 0.
    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(0);
    for (const port of [gatewayPort, queryPort, sinkPort]) {
      expect(await portIsFree(port)).toBe(true);
    }
  });

  // `npm start -- --no-simulator` passes the option through (infra/bootstrap.mjs).
  it('with --no-simulator runs every service but the simulator, and no simulated event reaches Kafka', {
    timeout: 300_000,
  }, async () => {
    const job = await startMainJob(['--no-simulator']);
    const output = job.output();
    expect(output).toContain('simulator: off');
    for (const service of ['clickhouse-sink', 'ingest-gateway', 'query-api']) {
      expect(output).toContain(`${service}: started`);
    }
    expect(output).not.toContain('simulator: started');
    // Its local keys are the simulated county's: it says how to use the deployment's own.
    expect(output).toContain('set GATEWAY_API_KEYS_FILE and QUERY_API_KEYS_FILE');

    // With the simulator, the last 7 days are on Kafka within seconds of its start, which is
    // before the job says it is running; without it, every topic of the job stays empty.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const admin = kafkaFor(job.endpoints.kafkaBrokers).admin();
    await admin.connect();
    try {
      // The sink made them at its start; the simulator writes to each.
      const jobTopics = topics.map((topic) => `${job.prefix}${topic.name}`);
      const messages: Record<string, number> = {};
      for (const topic of jobTopics) {
        const ends = await admin.endOffsets(topic);
        messages[topic] = ends.reduce((total, partition) => total + Number(partition.offset), 0);
      }
      expect(messages).toEqual(Object.fromEntries(jobTopics.map((topic) => [topic, 0])));
    } finally {
      await admin.disconnect();
    }

    job.child.kill('SIGINT');
    expect(await exitOf(job.child)).toBe(0);
  });
});
