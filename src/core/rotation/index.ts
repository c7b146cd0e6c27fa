export { ScheduledRotation } from './scheduled-rotation.js';
