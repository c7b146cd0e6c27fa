import { createHook } from 'node:async_hooks';

/** The tick object held for the life of the process (see keepTickShapeAlive); null until then. */
let held: object | null = null;

/**
 * Keeps one of `process.nextTick`'s queue entries alive for the life of the process, so that
 * V8 never forgets the shape every such entry has.
 *
 * Why: `nextTick` builds each entry as an object literal with two computed (symbol) keys, and
 * V8 defines such a literal's properties one transition at a time. The maps those transitions
 * lead to are held only weakly; a full garbage collection that runs while no entry is alive
 * (routine once a server's old generation grows under load) frees them, the next entry gets new
 * ones, and the property stores' inline caches, having seen two maps, turn megamorphic for good:
 * every `nextTick` — Node's HTTP server makes several per request — then defines its four
 * properties through the runtime. Measured on the verification route (docs/benchmarks.md,
 * "Ninth session"): about 1 µs of main-thread CPU per request, and `nextTick` itself 5× slower
 * (40 → 200 ns) after a few full collections under load. An entry held here keeps those maps
 * alive, so the caches stay monomorphic.
 *
 * How: an async hook's `init` receives the entry (`TickObject`) of one `nextTick` made with the
 * hook enabled; the hook is disabled at once. Idempotent; returns the held entry.
 */
export function keepTickShapeAlive(): object | null {
  if (held !== null) return held;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && held === null) held = resource as object;
    },
  });
  hook.enable();
  try {
    process.nextTick(() => {});
  } finally {
    hook.disable();
  }
  return held;
}
