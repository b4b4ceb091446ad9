/** The shared front-end core: graph state, DOT builder, renderer and the interactive view. */
export { buildDot } from './dot';
export type { DotResult, DotTarget } from './dot';
export { renderSvg } from './renderer';
export { GraphState } from './state';
export type { ApplyResult } from './state';
export { GraphView } from './view';
export type { GraphViewOptions } from './view';
export * from './types';
