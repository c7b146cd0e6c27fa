import type { Clock } from '../clock/index.js';
import type { Store } from '../store/index.js';

/** Timed work that must run on exactly one node at a time (rotation checks, reminders, purges). */
export interface ScheduledTask {
  name: string;
  /** Run at most this often. */
  intervalMs: number;
  /** Must be idempotent: a leader that dies mid-run is followed by another that runs it again. */
  run(now: number): Promise<void>;
}

export interface SchedulerOptions {
  /** This node's identity in the lease. */
  nodeId: string;
  /** How long a lease lasts without renewal: the takeover delay when a leader dies. */
  leaseMs: number;
  /** How often each node tries to take or renew the lease and run what is due. */
  tickMs: number;
  onError?: (task: string, err: unknown) => void;
  onLeadershipChange?: (leader: boolean) => void;
}

export const SCHEDULER_LEASE = 'scheduler';

/**
 * Leader election through the store: every node ticks; the one holding the `scheduler` lease
 * (a row updated with a conditional upsert, atomic on SQLite and PostgreSQL) runs the tasks
 * that are due. When the leader dies its lease expires after `leaseMs` and the next tick of
 * another node takes over. Tasks are idempotent, so a run cut short is simply run again.
 */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly lastRun = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private leader = false;
  private running: Promise<boolean> | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: SchedulerOptions,
  ) {}

  register(task: ScheduledTask): void {
    this.tasks.push(task);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.options.onLeadershipChange?.(leader);
  }

  /** One round: take or renew the lease; if held, run every task whose interval has passed. */
  tick(): Promise<boolean> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(): Promise<boolean> {
    let held: boolean;
    try {
      held = await this.store.acquireLease(
        SCHEDULER_LEASE,
        this.options.nodeId,
        this.options.leaseMs,
        this.clock.now(),
      );
    } catch (err) {
      this.options.onError?.('lease', err);
      held = false;
    }
    this.setLeader(held);
    if (!held) return false;
    for (const task of this.tasks) {
      const now = this.clock.now();
      const last = this.lastRun.get(task.name);
      if (last !== undefined && now - last < task.intervalMs) continue;
      try {
        await task.run(now);
        this.lastRun.set(task.name, now);
      } catch (err) {
        this.options.onError?.(task.name, err);
      }
      // A long task must not let the lease lapse under it.
      if (!(await this.renew())) return false;
    }
    return true;
  }

  private async renew(): Promise<boolean> {
    try {
      const held = await this.store.acquireLease(
        SCHEDULER_LEASE,
        this.options.nodeId,
        this.options.leaseMs,
        this.clock.now(),
      );
      this.setLeader(held);
      return held;
    } catch (err) {
      this.options.onError?.('lease', err);
      this.setLeader(false);
      return false;
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.tickMs);
    this.timer.unref();
    void this.tick();
  }

  /** Stops ticking and hands the lease back so another node takes over without waiting. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    if (this.leader) {
      try {
        await this.store.releaseLease(SCHEDULER_LEASE, this.options.nodeId);
      } catch {
        // The lease expires by itself.
      }
      this.setLeader(false);
    }
  }
}
