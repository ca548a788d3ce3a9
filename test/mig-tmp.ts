import { createDatabaseIfMissing, migrateUp } from '@bluelight/clickhouse-schema';
import { createClient } from '@clickhouse/client';

const db = process.argv[2] ?? 'mig1';
const server = createClient({ url: 'http://127.0.0.1:18123' });
await createDatabaseIfMissing(server, db);
const client = createClient({ url: 'http://127.0.0.1:18123', database: db });
const applied = await migrateUp(client, { log: console.log });
console.log(applied.length);
await client.close();
await server.close();
