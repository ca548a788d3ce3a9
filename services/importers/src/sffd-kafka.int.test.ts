import { openEventOutput } from '@bluelight/event-output';
import { topics } from '@bluelight/schemas';
import {
  consumeMessages,
  kafkaFor,
  testEndpoints,
  testLogger,
  uniqueName,
} from '@bluelight/test/harness';
import { describe, expect, it } from 'vitest';
import { importFiles } from './importer.js';
import { loadBuiltInMapping } from './mapping.js';
import { outputTargetFor } from './output.js';
import { readCsvText, SAMPLES } from './testing/samples.js';

describe('importing into Kafka', () => {
  it('writes the SFFD sample to the incidents topic, keyed agency/incident, and nothing elsewhere', async () => {
    const brokers = testEndpoints().kafkaBrokers;
    const prefix = `${uniqueName('import')}.`;
    const topicNames = topics.map((topic) => `${prefix}${topic.name}`);
    const admin = kafkaFor(brokers).admin();
    await admin.connect();
    try {
      // The sink creates the topics in production; the broker does not auto-create them.
      await admin.ensureTopics(
        topics.map((topic) => ({
          topic: `${prefix}${topic.name}`,
          partitions: topic.partitions,
          replicationFactor: -1,
        })),
      );

      // Expected from the CSV: one creation per incident, one event per unit per time present.
      const rows = readCsvText(SAMPLES.sffd);
      const having = (...columns: string[]) =>
        rows.filter((row) => columns.every((column) => row.cells[column])).length;
      const incidents = new Set(rows.map((row) => row.cells['Incident Number']));
      const expected =
        incidents.size +
        having('Dispatch DtTm') +
        having('Response DtTm') +
        having('On Scene DtTm') +
        having('On Scene DtTm', 'Available DtTm');

      const output = await openEventOutput(
        outputTargetFor('kafka', { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix }),
        testLogger('importers-test'),
      );
      const summary = await importFiles({
        mapping: await loadBuiltInMapping('sffd'),
        files: [SAMPLES.sffd],
        output,
      });
      await output.close();
      expect(summary).toMatchObject({ rowsRejected: 0, eventsWritten: expected });

      const counts: Record<string, number> = {};
      for (const topic of topicNames) {
        const ends = await admin.endOffsets(topic);
        counts[topic] = ends.reduce((total, partition) => total + Number(partition.offset), 0);
      }
      expect(counts).toEqual(
        Object.fromEntries(
          topicNames.map((topic) => [topic, topic.endsWith('.incidents.v1') ? expected : 0]),
        ),
      );

      const incidentsTopic = topicNames.find((topic) => topic.endsWith('.incidents.v1')) ?? '';
      const messages = await consumeMessages({ brokers, topic: incidentsTopic, count: expected });
      expect(messages).toHaveLength(expected);
      for (const message of messages) {
        const event = JSON.parse(message.value?.toString() ?? '{}');
        expect(message.key?.toString()).toBe(`${event.agency}/${event.payload.incident_id}`);
      }
      const keys = new Set(messages.map((message) => message.key?.toString().split('/')[1]));
      expect(keys).toEqual(incidents);
    } finally {
      await admin.deleteTopics(topicNames);
      await admin.disconnect();
    }
  });
});
