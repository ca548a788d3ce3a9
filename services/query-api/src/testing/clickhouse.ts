import type { ClickHouseClient } from '@bluelight/service-kit';

/** A query as the API sent it: the SQL text and its parameters. */
export interface SentQuery {
  query: string;
  params: Record<string, unknown>;
}

/**
 * Wraps a ClickHouse client so every query the API sends is recorded (SQL text and parameters)
 * before it goes to the real client; tests check that request values never reach the SQL text.
 */
export function recordingClickHouse(client: ClickHouseClient): {
  client: ClickHouseClient;
  sent: SentQuery[];
} {
  const sent: SentQuery[] = [];
  const wrapped = new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (input: { query: string; query_params?: Record<string, unknown> }) => {
          sent.push({ query: input.query, params: { ...input.query_params } });
          return target.query(input as Parameters<ClickHouseClient['query']>[0]);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { client: wrapped, sent };
}

/**
 * Stands in for ClickHouse in unit tests: records each query and answers with the rows `answer`
 * gives (by default none); `failWith` makes every query reject.
 */
export class FakeClickHouse {
  readonly sent: SentQuery[] = [];
  answer: (query: SentQuery) => unknown[] = () => [];
  failWith: Error | undefined;
  pingOk = true;

  asClient(): ClickHouseClient {
    return this as unknown as ClickHouseClient;
  }

  async query(input: { query: string; query_params?: Record<string, unknown> }) {
    const sent = { query: input.query, params: { ...input.query_params } };
    this.sent.push(sent);
    if (this.failWith) throw this.failWith;
    const rows = this.answer(sent);
    return { json: async () => rows };
  }

  async ping() {
    return this.pingOk
      ? { success: true as const }
      : { success: false as const, error: new Error('connect ECONNREFUSED 127.0.0.1:8123') };
  }

  async close() {}
}
