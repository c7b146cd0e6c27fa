import { randomBytes } from 'node:crypto';
import type { RandomSource } from './base62.js';

/** The default randomness: the operating system's CSPRNG. */
export const secureRandom: RandomSource = (size) => randomBytes(size);
