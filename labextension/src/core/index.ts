/** The shared front-end core: graph state and the interactive view (DOT building and rendering stay inside). */
export { GraphState } from './state';
export type { ApplyResult } from './state';
export { GraphView } from './view';
export type { GraphViewOptions } from './view';
export * from './types';
