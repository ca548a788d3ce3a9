export type IdState =
  | { state: 'new' }
  /** Kafka acknowledged it within the window. */
  | { state: 'accepted' }
  /** Another request is producing it now; resolves true when Kafka acknowledged it. */
  | { state: 'producing'; acknowledged: Promise<boolean> };

/** An event as the window knows it: identity is (agency, event id), as everywhere in Bluelight. */
export interface AgencyEventId {
  agency: string;
  eventId: string;
}

/** One map key per (agency, event id); agency codes hold no NUL. */
const keyOf = ({ agency, eventId }: AgencyEventId) => `${agency}\u0000${eventId}`;

/**
 * The event ids this gateway had acknowledged by Kafka recently, and those being produced right
 * now, so a retried request (or the same event sent twice at once) does not become a second
 * Kafka message. Keyed by agency and event id: another agency's event with the same id is a
 * different event (and answering `duplicate` would tell the sender that id exists elsewhere).
 * Ids are forgotten after `windowMs`, or earlier — oldest first — beyond `maxIds`.
 */
export class AcceptedEventIds {
  /** id → when it expires; insertion order is expiry order because the window is fixed. */
  readonly #accepted = new Map<string, number>();
  readonly #producing = new Map<string, Promise<boolean>>();
  readonly #windowMs: number;
  readonly #maxIds: number;
  readonly #now: () => number;

  constructor(options: { windowMs: number; maxIds: number; now?: () => number }) {
    this.#windowMs = options.windowMs;
    this.#maxIds = options.maxIds;
    this.#now = options.now ?? (() => performance.now());
  }

  get size(): number {
    return this.#accepted.size;
  }

  lookup(event: AgencyEventId): IdState {
    const id = keyOf(event);
    const expiresAt = this.#accepted.get(id);
    if (expiresAt !== undefined && expiresAt > this.#now()) return { state: 'accepted' };
    const acknowledged = this.#producing.get(id);
    if (acknowledged) return { state: 'producing', acknowledged };
    return { state: 'new' };
  }

  /**
   * Marks ids as being produced. The caller must call the returned function exactly once with
   * the outcome: acknowledged ids are remembered; others are forgotten so a retry produces them.
   */
  beginProducing(events: AgencyEventId[]): (acknowledged: boolean) => void {
    const ids = events.map(keyOf);
    let settle: (acknowledged: boolean) => void = () => {};
    const outcome = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    for (const id of ids) this.#producing.set(id, outcome);
    return (acknowledged) => {
      for (const id of ids) {
        if (this.#producing.get(id) === outcome) this.#producing.delete(id);
      }
      if (acknowledged) this.#remember(ids);
      settle(acknowledged);
    };
  }

  #remember(ids: string[]): void {
    const now = this.#now();
    for (const id of ids) {
      this.#accepted.delete(id);
      this.#accepted.set(id, now + this.#windowMs);
    }
    for (const [id, expiresAt] of this.#accepted) {
      if (expiresAt > now && this.#accepted.size <= this.#maxIds) break;
      this.#accepted.delete(id);
    }
  }
}
