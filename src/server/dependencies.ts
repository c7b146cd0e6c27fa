import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

export type Dependency = 'store' | 'redis' | 'redis_ratelimit';

export interface DependencyState {
  status: 'up' | 'down';
  since: string;
  detail?: string;
}

/**
 * Tracks whether each dependency is reachable; every transition is logged once and counted,
 * so an operator sees an outage start and end rather than one error per request.
 */
export class Dependencies {
  private readonly states = new Map<Dependency, DependencyState>();

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger | undefined,
  ) {}

  set(dependency: Dependency, up: boolean, detail?: string): void {
    const status = up ? 'up' : 'down';
    const previous = this.states.get(dependency);
    if (previous?.status === status) return;
    this.states.set(dependency, { status, since: new Date().toISOString(), ...(detail ? { detail } : {}) });
    this.metrics.dependencyUp.set({ dependency }, up ? 1 : 0);
    if (previous) {
      this.metrics.dependencyStateChanges.inc({ dependency, state: status });
      if (up) this.logger?.info({ dependency }, `${dependency} is reachable again`);
      else this.logger?.error({ dependency, detail }, `${dependency} is unreachable`);
    }
  }

  get(dependency: Dependency): DependencyState | undefined {
    return this.states.get(dependency);
  }

  snapshot(): Partial<Record<Dependency, DependencyState>> {
    return Object.fromEntries(this.states);
  }
}
