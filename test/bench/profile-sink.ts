import { Kafka, logLevel } from 'kafkajs';
import { benchStack, say } from './context.js';
import { runBluelightSink, runNodePeer } from './suites/sink.js';

const stack = await benchStack();
const admin = new Kafka({ brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const topics = (await admin.listTopics()).filter((name) => name.startsWith('year_') && name.endsWith('calls.v1'));
say(`year topics: ${topics.join(', ')}`);
const prefix = (topics.sort().at(-1) as string).replace(/bluelight\..*$/, '');
let events = 0;
for (const name of (await admin.listTopics()).filter((topic) => topic.startsWith(prefix) && !topic.includes('dlq'))) {
  for (const p of await admin.fetchTopicOffsets(name)) events += Number(p.high);
}
await admin.disconnect();
say(`prefix ${prefix}: ${events} events`);
if (process.argv.includes('--peer')) say(JSON.stringify(await runNodePeer(stack, prefix, events)));
else say(JSON.stringify(await runBluelightSink(stack, prefix, events)));
process.exit(0);
