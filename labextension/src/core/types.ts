/**
 * The graph JSON (`application/vnd.graphkit.graph+json`, version 1) and the live widget's
 * messages, exactly as docs/frontend.md describes them.
 */

/** Statistics of one weight variable of a layer (null for empty or non-finite values). */
export interface WeightStats {
  name: string;
  shape: number[];
  trainable: boolean;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
}

/** `"model"`: part of a model; `"pending"`: not yet in a model (dashed); `"error"`: a failed call (red). */
export type NodeStatus = 'model' | 'pending' | 'error';

/** One layer call. */
export interface GraphNode {
  id: string;
  name: string;
  class_name: string;
  group: string | null;
  status: NodeStatus;
  input_shapes: string[];
  output_shape: string | null;
  dtype: string | null;
  params: number;
  trainable: boolean;
  formula: string | null;
  activation: string | null;
  config: Record<string, unknown> | null;
  error: string | null;
  weights: WeightStats[] | null;
}

/** A tensor flowing from one layer to another; `label` is its shape. */
export interface GraphEdge {
  source: string;
  target: string;
  label: string;
  status: NodeStatus;
}

/** A (possibly nested) model drawn as a cluster. */
export interface GraphGroup {
  id: string;
  name: string;
  class_name: string;
  parent: string | null;
  params: number;
  collapsed: boolean;
}

/** The whole graph. */
export interface GraphData {
  format: 'graphkit.graph';
  version: number;
  title: string;
  rankdir: string;
  total_params: number;
  trainable_params: number;
  summary: string | null;
  groups: GraphGroup[];
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Finished DOT text (plot_model pictures): drawn as is; its nodes' titles are node ids. */
  dot?: string | null;
  /** A live view's kernel-free picture: the `_uid` of the widget displayed just before it. */
  widget?: string;
}

/** Python -> JS: the whole graph. */
export interface GraphMessage {
  type: 'graph';
  seq: number;
  graph: GraphData;
}

/** Python -> JS: incremental changes. */
export interface DeltaMessage {
  type: 'delta';
  seq: number;
  nodes?: GraphNode[];
  remove?: string[];
  edges?: GraphEdge[];
  groups?: GraphGroup[];
  total_params?: number;
  trainable_params?: number;
  title?: string;
}

/** Python -> JS: weight statistics of one node. */
export interface DetailsMessage {
  type: 'details';
  id: string;
  weights: WeightStats[] | null;
}

export type ServerMessage = GraphMessage | DeltaMessage | DetailsMessage;

/** The part of an anywidget model the front end uses. */
export interface WidgetModel {
  get(name: string): unknown;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: unknown): void;
}

/** anywidget's render arguments. */
export interface RenderProps {
  model: WidgetModel;
  el: HTMLElement;
}

/** The live widget's front end as the loader uses it (graphkit-widget.js, or JupyterLab's copy). */
export interface WidgetCore {
  /** The npm package's version; used only when it equals the kernel's graphkit version. */
  version: string;
  /** Follows `model`'s messages for the model's life (`backlog`: messages that came before). */
  track(model: WidgetModel, backlog?: unknown[]): void;
  /** Draws the model's graph into `el`; returns the cleanup function. */
  render(props: RenderProps): () => void;
  /** JupyterLab with graphkit's extension: shows a synced view in the right side panel. */
  pin?(source: PinSource): void;
}

/** What a pinned view shows: a live widget's graph (following its messages) or a fixed graph. */
export type PinSource = { model: WidgetModel } | { graph: GraphData };

declare global {
  /** The core graphkit's JupyterLab extension puts on the page (no kernel round trip needed). */
  // eslint-disable-next-line no-var
  var __graphkitLab: WidgetCore | undefined;
  /** The core requested from a kernel, shared by every widget on the page. */
  // eslint-disable-next-line no-var
  var __graphkitCore: Promise<WidgetCore> | undefined;
}
