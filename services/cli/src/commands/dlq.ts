import type { ReplayPolicy } from '@bluelight/clickhouse-sink';
import {
  clickhouseConnectionFrom,
  createClickHouse,
  createKafkaClients,
  createLogger,
  kafkaConnectionFrom,
  platformConfigSchema,
} from '@bluelight/service-kit';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { ExitCode, loadCommandConfig } from '../exit-codes.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

const dlqConfigSchema = platformConfigSchema.extend({
  KAFKA_TOPIC_PREFIX: z.string().default(''),
});

const familyOption = () =>
  new Option('--family <family>', 'calls, incidents or resources').choices([
    'calls',
    'incidents',
    'resources',
  ]);

export function registerDlqCommands(program: Command): void {
  const dlq = program
    .command('dlq')
    .description(
      'Inspect and replay dead letters (messages the sink refused; see docs/clickhouse-sink.md)',
    );

  dlq
    .command('list')
    .description('the most recent dead letters, from ClickHouse, with why each was refused')
    .addOption(familyOption())
    .option('--limit <count>', 'how many', (value) => Number(value), 20)
    .option('--json', 'print JSON lines')
    .action(async (options: { family?: string; limit: number; json?: boolean }) => {
      const config = loadCommandConfig(dlqConfigSchema);
      // Loaded on use: the sink's module graph would slow every other CLI command's start.
      const { familiesWithPrefix } = await import('@bluelight/clickhouse-sink');
      const client = createClickHouse({
        ...clickhouseConnectionFrom(config),
        application: 'bluelight-dlq',
      });
      try {
        const topic = options.family
          ? familiesWithPrefix(config.KAFKA_TOPIC_PREFIX)[options.family as 'calls'].topic.name
          : '';
        const result = await client.query({
          query: `SELECT toString(failed_at) AS failed_at, original_topic, original_partition,
                    original_offset, error_class, event_id, event_type, reason
                  FROM dead_letters FINAL
                  WHERE {topic:String} = '' OR original_topic = {topic:String}
                  ORDER BY failed_at DESC
                  LIMIT {limit:UInt32}`,
          query_params: { topic, limit: options.limit },
          format: 'JSONEachRow',
        });
        const rows = await result.json<Record<string, string | number>>();
        if (options.json) {
          for (const row of rows) say(JSON.stringify(row));
          return;
        }
        if (rows.length === 0) say('no dead letters.');
        for (const row of rows) {
          say(
            `${row.failed_at}  ${row.original_topic}[${row.original_partition}]@${row.original_offset}  ${row.error_class}  ${row.event_type || '-'} ${row.event_id || ''}\n    ${row.reason}`,
          );
        }
      } finally {
        await client.close();
      }
    });

  dlq
    .command('replay')
    .description(
      'send dead letters back to their topic: reinsert (all), drop (skip those that still fail) or stop (at the first that still fails; exit code 4)',
    )
    .addOption(familyOption().makeOptionMandatory())
    .addOption(
      new Option('--policy <policy>', 'stop, reinsert or drop')
        .choices(['stop', 'reinsert', 'drop'])
        .makeOptionMandatory(),
    )
    .option('--dry-run', 'report what would happen; send and commit nothing')
    .action(async (options: { family: string; policy: ReplayPolicy; dryRun?: boolean }) => {
      const { familiesWithPrefix, replayDeadLetters, sinkConfigSchema } = await import(
        '@bluelight/clickhouse-sink'
      );
      // Judged as the sink judges them: with its EARLIEST_EVENT_TIME.
      const config = loadCommandConfig(
        dlqConfigSchema.extend({ EARLIEST_EVENT_TIME: sinkConfigSchema.shape.EARLIEST_EVENT_TIME }),
      );
      const family = familiesWithPrefix(config.KAFKA_TOPIC_PREFIX)[options.family as 'calls'];
      const kafka = createKafkaClients({
        ...kafkaConnectionFrom(config),
        clientId: 'bluelight-dlq',
        logger: createLogger({ service: 'bluelight-dlq', level: 'warn' }),
      });
      const result = await replayDeadLetters({
        kafka,
        family,
        policy: options.policy,
        earliestEventTime: config.EARLIEST_EVENT_TIME,
        dryRun: options.dryRun ?? false,
        log: say,
      });
      if (result.stoppedAt) process.exitCode = ExitCode.stopped;
    });
}
