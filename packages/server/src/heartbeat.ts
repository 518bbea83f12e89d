export interface HeartbeatMember {
  /** Called once per interval: send a keep-alive if nothing was written since the last call. */
  onHeartbeat(): void;
}

interface Group {
  readonly members: Set<HeartbeatMember>;
  readonly timer: ReturnType<typeof setInterval>;
}

function sweep(members: Set<HeartbeatMember>): void {
  // Deleting the current member while iterating a Set is safe: iteration goes on with the next.
  for (const member of members) member.onHeartbeat();
}

/**
 * Keep-alives for every open stream from one timer per distinct interval (in practice one
 * timer for the whole process), never one timer per stream: 10 000 idle connections cost one
 * timer and one Set entry each. A group's timer is unref'd, so it never keeps the process
 * alive, and stops when its last member leaves.
 */
export class Heartbeat {
  readonly #groups = new Map<number, Group>();

  add(member: HeartbeatMember, intervalMs: number): void {
    let group = this.#groups.get(intervalMs);
    if (group === undefined) {
      const members = new Set<HeartbeatMember>();
      const timer = setInterval(sweep, intervalMs, members);
      if (typeof timer === 'object') timer.unref?.();
      group = { members, timer };
      this.#groups.set(intervalMs, group);
    }
    group.members.add(member);
  }

  delete(member: HeartbeatMember, intervalMs: number): void {
    const group = this.#groups.get(intervalMs);
    if (group === undefined || !group.members.delete(member)) return;
    if (group.members.size === 0) {
      clearInterval(group.timer);
      this.#groups.delete(intervalMs);
    }
  }

  /** Timers running: one per distinct interval in use. */
  get timers(): number {
    return this.#groups.size;
  }

  /** Streams registered across all intervals. */
  get members(): number {
    let count = 0;
    for (const group of this.#groups.values()) count += group.members.size;
    return count;
  }
}

/** The process-wide heartbeat every EventStream registers with. */
export const heartbeat = new Heartbeat();
