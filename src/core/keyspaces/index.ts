export { type KeyspaceInput, Keyspaces, type KeyspaceUpdate } from './keyspaces.js';
