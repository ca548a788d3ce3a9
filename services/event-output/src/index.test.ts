import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type BluelightEvent, validateEvent, validExamples } from '@bluelight/schemas';
import { createLogger } from '@bluelight/service-kit';
import { describe, expect, it } from 'vitest';
import { openEventOutput, toTopicMessages } from './index.js';

const events = validExamples()
  .map((example) => validateEvent(example.event))
  .flatMap((result) => (result.ok ? [result.event as BluelightEvent] : []));

describe('event output', () => {
  it('puts each event on its family topic under the prefix, keyed agency/entity id, in order', () => {
    const batches = toTopicMessages(events, 'test.');
    expect(batches.map((batch) => batch.topic).sort()).toEqual([
      'test.bluelight.calls.v1',
      'test.bluelight.incidents.v1',
      'test.bluelight.resources.v1',
    ]);
    const incidents = batches.find((batch) => batch.topic === 'test.bluelight.incidents.v1');
    const expected = events.filter((event) => event.event_type.startsWith('incident.'));
    expect(incidents?.messages.map((message) => message.key)).toEqual(
      expected.map(
        (event) => `${event.agency}/${(event.payload as { incident_id: string }).incident_id}`,
      ),
    );
    expect(
      incidents?.messages.map((message) => JSON.parse(String(message.value)).event_id),
    ).toEqual(expected.map((event) => event.event_id));
  });

  it('writes NDJSON files, one event per line, in order', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'bluelight-out-'));
    try {
      const file = path.join(folder, 'events.ndjson');
      const output = await openEventOutput(
        { kind: 'file', path: file },
        createLogger({ service: 'test', level: 'silent' }),
      );
      await output.write(events.slice(0, 3));
      await output.write(events.slice(3));
      await output.close();
      const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
      expect(lines.map((line) => JSON.parse(line).event_id)).toEqual(
        events.map((event) => event.event_id),
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
