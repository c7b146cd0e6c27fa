export { BASE62, encodeBase62, type RandomSource, randomBase62 } from './base62.js';
export { sha256Hex } from './hash.js';
export { secureRandom } from './secure-random.js';
