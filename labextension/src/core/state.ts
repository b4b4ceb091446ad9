/**
 * The live graph: applies `graph`, `delta` and `details` messages (docs/frontend.md) and keeps
 * track of `seq` so that a view notices missed messages.
 */
import type {
  DeltaMessage,
  GraphData,
  GraphEdge,
  GraphGroup,
  GraphNode,
  ServerMessage
} from './types';

/** What applying a message did: the graph changed, nothing changed, or a message was missed. */
export type ApplyResult = 'changed' | 'unchanged' | 'gap';

type Meta = Omit<GraphData, 'nodes' | 'edges' | 'groups'>;

const edgeKey = (e: GraphEdge): string => `${e.source}\u0000${e.target}\u0000${e.label}`;

export class GraphState {
  /** Sequence number of the last applied message; null until the first `graph` message. */
  seq: number | null = null;
  private meta: Meta | null = null;
  private nodes = new Map<string, GraphNode>();
  private edges = new Map<string, GraphEdge>();
  private groups = new Map<string, GraphGroup>();
  private cached: GraphData | null = null;

  /** The current graph as plain JSON (null before the first `graph` message). */
  get graph(): GraphData | null {
    if (!this.meta) {
      return null;
    }
    if (!this.cached) {
      this.cached = {
        ...this.meta,
        groups: [...this.groups.values()],
        nodes: [...this.nodes.values()],
        edges: [...this.edges.values()]
      };
    }
    return this.cached;
  }

  /** Applies one message from Python. */
  apply(msg: ServerMessage): ApplyResult {
    switch (msg.type) {
      case 'graph':
        this.reset(msg.graph);
        this.seq = msg.seq;
        return 'changed';
      case 'delta':
        if (this.seq === null || msg.seq > this.seq + 1) {
          return 'gap';
        }
        if (msg.seq <= this.seq) {
          return 'unchanged';
        }
        this.seq = msg.seq;
        this.applyDelta(msg);
        return 'changed';
      case 'details': {
        const node = this.nodes.get(msg.id);
        if (!node) {
          return 'unchanged';
        }
        this.nodes.set(msg.id, { ...node, weights: msg.weights });
        this.cached = null;
        return 'changed';
      }
      default:
        return 'unchanged';
    }
  }

  /** Replaces everything with `graph`. */
  reset(graph: GraphData): void {
    const { nodes, edges, groups, ...meta } = graph;
    this.meta = meta;
    this.nodes = new Map(nodes.map(n => [n.id, n]));
    this.edges = new Map(edges.map(e => [edgeKey(e), e]));
    this.groups = new Map(groups.map(g => [g.id, g]));
    this.cached = null;
  }

  private applyDelta(msg: DeltaMessage): void {
    for (const group of msg.groups ?? []) {
      this.groups.set(group.id, group);
    }
    for (const node of msg.nodes ?? []) {
      this.nodes.set(node.id, node);
    }
    for (const edge of msg.edges ?? []) {
      this.edges.set(edgeKey(edge), edge);
    }
    const removed = new Set(msg.remove ?? []);
    if (removed.size) {
      for (const id of removed) {
        this.nodes.delete(id);
      }
      for (const [key, e] of this.edges) {
        if (removed.has(e.source) || removed.has(e.target)) {
          this.edges.delete(key);
        }
      }
    }
    if (this.meta) {
      const {
        total_params = this.meta.total_params,
        trainable_params = this.meta.trainable_params,
        title = this.meta.title
      } = msg;
      this.meta = { ...this.meta, total_params, trainable_params, title };
    }
    this.cached = null;
  }
}
