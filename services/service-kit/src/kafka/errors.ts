/** Reading @platformatic/kafka's errors (a tree of MultipleErrors and ProtocolErrors). */

function* leaves(error: unknown, depth = 0): Generator<unknown> {
  yield error;
  if (depth < 8 && error instanceof AggregateError) {
    for (const inner of error.errors) yield* leaves(inner, depth + 1);
  }
}

/** Every Kafka protocol error name (`apiId`, e.g. ILLEGAL_GENERATION) anywhere in the error. */
export function protocolErrorIds(error: unknown): Set<string> {
  const ids = new Set<string>();
  for (const leaf of leaves(error)) {
    const apiId = (leaf as { apiId?: unknown } | null)?.apiId;
    if (typeof apiId === 'string') ids.add(apiId);
  }
  return ids;
}

/** The parsed response an error carries (a ResponseError keeps the partitions that succeeded). */
export function responseOf<T>(error: unknown): T | undefined {
  for (const leaf of leaves(error)) {
    const response = (leaf as { response?: unknown } | null)?.response;
    if (response && typeof response === 'object') return response as T;
  }
  return undefined;
}

/** The group moved on without this member: its generation or member id is no longer valid. */
export const MEMBERSHIP_LOST_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
]);

/** The broker asked is not (or no longer) the group's coordinator: find it again. */
export const COORDINATOR_ERRORS = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
]);

/** Thrown by the consumer itself when a commit is refused because the group moved on. */
export class GroupMembershipLostError extends Error {
  override readonly name = 'GroupMembershipLostError';
}

/**
 * True when the consumer has lost (or is losing) its group membership, so the batch in hand is
 * no longer its to commit: the handler should give it up; the partition's owner reads it again.
 * Recognises the client's protocol errors for a commit, heartbeat or fetch after the group moved
 * (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
 * NOT_COORDINATOR) and the kit's own GroupMembershipLostError. Not a fault of the data.
 */
export function isGroupMembershipLost(error: unknown): boolean {
  if (error instanceof GroupMembershipLostError) return true;
  const ids = protocolErrorIds(error);
  return [...ids].some((id) => MEMBERSHIP_LOST_ERRORS.has(id) || id === 'NOT_COORDINATOR');
}
