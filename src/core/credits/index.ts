export { nextRefillAt, refillPeriodStart } from './refill.js';
