export { AlertEvaluator, type AlertEvaluatorOptions } from './alert-evaluator.js';
export {
  ALERT_ACTIONS,
  type AlertRuleInput,
  DEFAULT_COOLDOWN_SECONDS,
  DEFAULT_SPIKE_MIN_COUNT,
  DEFAULT_SPIKE_MIN_HISTORY_WINDOWS,
  MAX_COOLDOWN_SECONDS,
  MAX_WINDOW_SECONDS,
} from './alert-rule.js';
export { AlertRules, type AlertRuleUpdate } from './alert-rules.js';
export { canonicalIp, ipNetwork } from './network.js';
export { ALPHA as SPIKE_BASELINE_WEIGHT } from './spike.js';
export { STEPS_PER_WINDOW } from './window.js';
