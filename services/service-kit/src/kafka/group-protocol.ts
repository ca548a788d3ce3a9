import { Reader, Writer } from '@platformatic/kafka';

/**
 * The consumer protocol's subscription and assignment (the bytes a consumer group's members
 * exchange through JoinGroup and SyncGroup; Kafka's ConsumerProtocolSubscription and
 * ConsumerProtocolAssignment, version 0), and the assignor the group's leader runs.
 */

export interface TopicAssignment {
  topic: string;
  partitions: number[];
}

export function encodeSubscription(topics: string[]): Buffer {
  return Writer.create()
    .appendInt16(0)
    .appendArray(topics, (writer, topic) => writer.appendString(topic, false), false, false)
    .appendBytes(Buffer.alloc(0), false).buffer;
}

export function decodeSubscription(buffer: Buffer | null): string[] {
  if (!buffer || buffer.length < 2) return [];
  const reader = Reader.from(buffer);
  reader.readInt16();
  return reader.readArray((entry) => entry.readString(false), false, false);
}

export function encodeAssignment(assignment: TopicAssignment[]): Buffer {
  return Writer.create()
    .appendInt16(0)
    .appendArray(
      assignment,
      (writer, { topic, partitions }) => {
        writer
          .appendString(topic, false)
          .appendArray(partitions, (w, partition) => w.appendInt32(partition), false, false);
      },
      false,
      false,
    )
    .appendBytes(Buffer.alloc(0), false).buffer;
}

export function decodeAssignment(buffer: Buffer | null): TopicAssignment[] {
  // A member given nothing may get an empty assignment (no bytes at all).
  if (!buffer || buffer.length < 6) return [];
  const reader = Reader.from(buffer);
  reader.readInt16();
  return reader.readArray(
    (entry) => ({
      topic: entry.readString(false),
      partitions: entry.readArray((r) => r.readInt32(), false, false),
    }),
    false,
    false,
  );
}

/**
 * Spreads each topic's partitions over the members subscribed to it, in turn (members sorted by
 * id, so every leader computes the same), continuing the turn across topics so that members get
 * equal shares of small topics too.
 */
export function assignRoundRobin(
  members: Map<string, string[]>,
  partitionCounts: Map<string, number>,
): Map<string, TopicAssignment[]> {
  const memberIds = [...members.keys()].sort();
  const result = new Map<string, TopicAssignment[]>(memberIds.map((id) => [id, []]));
  let turn = 0;
  for (const topic of [...partitionCounts.keys()].sort()) {
    const subscribed = memberIds.filter((id) => members.get(id)?.includes(topic));
    if (subscribed.length === 0) continue;
    const count = partitionCounts.get(topic) ?? 0;
    const byMember = new Map<string, number[]>();
    for (let partition = 0; partition < count; partition += 1) {
      const member = subscribed[turn % subscribed.length] as string;
      turn += 1;
      byMember.set(member, [...(byMember.get(member) ?? []), partition]);
    }
    for (const [member, partitions] of byMember) {
      result.get(member)?.push({ topic, partitions });
    }
  }
  return result;
}
