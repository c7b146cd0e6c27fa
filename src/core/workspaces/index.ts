export { DEFAULT_WORKSPACE, Workspaces } from './workspaces.js';
