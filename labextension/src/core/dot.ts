/**
 * Graph JSON + the set of collapsed groups -> DOT text for graphviz.
 *
 * Every drawn element gets a DOT `id` (`gk-n<i>` layer, `gk-b<i>` collapsed group box, `gk-c<i>`
 * cluster); `targets` maps those ids back to graph ids so the renderer can tag the SVG.
 */
import { escapeHtml, formatInt, quote, wrap } from './format';
import type { ThemeColors } from './theme';
import type { GraphData, GraphEdge, GraphGroup, GraphNode } from './types';

/** What an SVG element drawn from DOT id `key` stands for, and its tooltip. */
export interface DotTarget {
  kind: 'node' | 'box' | 'cluster';
  id: string;
  title: string;
}

export interface DotResult {
  dot: string;
  /** Keyed by DOT id, or by graphviz node title when `byTitle` (DOT written elsewhere). */
  targets: Map<string, DotTarget>;
  byTitle?: boolean;
}

// graphviz sizes labels with its Helvetica metrics (Arial's); styles.ts renders with that family.
const FONT = 'Helvetica';

/** Builds the DOT for `graph`, drawing each group in `collapsed` (or inside one) as one box. */
export function buildDot(graph: GraphData, collapsed: ReadonlySet<string>, colors: ThemeColors): DotResult {
  return new DotBuilder(graph, collapsed, colors).build();
}

/**
 * The DOT of a graph that brings its own (`graph.dot`, e.g. a plot_model picture), drawn as is:
 * its nodes are found by their graphviz titles, the layer ids (`graph.nodes`, when given, adds
 * their tooltips and details).
 */
export function givenDot(graph: GraphData): DotResult {
  const targets = new Map<string, DotTarget>();
  for (const node of graph.nodes) {
    targets.set(node.id, { kind: 'node', id: node.id, title: `${node.name} (${node.class_name})` });
  }
  return { dot: graph.dot ?? '', targets, byTitle: true };
}

class DotBuilder {
  private lines: string[] = [];
  private targets = new Map<string, DotTarget>();
  private groups: Map<string, GraphGroup>;
  private nodes: Map<string, GraphNode>;
  private children = new Map<string | null, GraphGroup[]>();
  private members = new Map<string | null, GraphNode[]>();
  /** DOT id of the element that stands for each layer or group. */
  private dotIds = new Map<string, string>();

  constructor(
    private graph: GraphData,
    private collapsed: ReadonlySet<string>,
    private colors: ThemeColors
  ) {
    this.groups = new Map(graph.groups.map(g => [g.id, g]));
    this.nodes = new Map(graph.nodes.map(n => [n.id, n]));
    const known = (id: string | null): string | null => (id !== null && this.groups.has(id) ? id : null);
    for (const group of graph.groups) {
      push(this.children, known(group.parent), group);
    }
    for (const node of graph.nodes) {
      push(this.members, known(node.group), node);
    }
  }

  build(): DotResult {
    const c = this.colors;
    this.lines.push(
      `digraph ${quote(this.graph.title || 'graph')} {`,
      `  graph [rankdir=${quote(this.graph.rankdir || 'TB')}, bgcolor="transparent", ` +
        `fontname=${quote(FONT)}, fontsize=10, fontcolor=${quote(c.text)}, nodesep=0.3, ranksep=0.35, pad=0.1];`,
      `  node [shape=box, style="rounded,filled", fillcolor=${quote(c.fill)}, color=${quote(c.border)}, ` +
        `fontcolor=${quote(c.text)}, fontname=${quote(FONT)}, fontsize=10, margin="0.1,0.04"];`,
      `  edge [color=${quote(c.muted)}, fontcolor=${quote(c.muted)}, fontname=${quote(FONT)}, ` +
        `fontsize=9, arrowsize=0.7];`
    );
    this.emitScope(null, '  ');
    this.emitEdges();
    this.lines.push('}');
    return { dot: this.lines.join('\n'), targets: this.targets };
  }

  /** Emits the layers and groups directly inside `groupId` (null: the top level). */
  private emitScope(groupId: string | null, indent: string): void {
    for (const node of this.members.get(groupId) ?? []) {
      this.emitNode(node, indent);
    }
    for (const group of this.children.get(groupId) ?? []) {
      if (this.collapsed.has(group.id)) {
        this.emitBox(group, indent);
      } else {
        this.emitCluster(group, indent);
      }
    }
  }

  private newId(prefix: string, target: DotTarget): string {
    const dotId = `gk-${prefix}${this.targets.size}`;
    this.targets.set(dotId, target);
    return dotId;
  }

  private emitNode(node: GraphNode, indent: string): void {
    const c = this.colors;
    const dotId = this.newId('n', { kind: 'node', id: node.id, title: node.id });
    this.dotIds.set(node.id, dotId);
    const rows = [`<b>${escapeHtml(node.name)}</b> <font color="${c.muted}">(${escapeHtml(node.class_name)})</font>`];
    if (node.output_shape) {
      rows.push(`<font point-size="9">${escapeHtml(node.output_shape)}</font>`);
    }
    if (node.params > 0) {
      rows.push(`<font point-size="9">${formatInt(node.params)} params</font>`);
    }
    const attrs = [`id=${quote(dotId)}`];
    if (node.status === 'error') {
      for (const line of wrap(node.error ?? 'error', 44, 4)) {
        rows.push(`<font point-size="9" color="${c.error}">${escapeHtml(line)}</font>`);
      }
      attrs.push(`color=${quote(c.error)}`, 'penwidth=2', 'class="gk-error"');
    } else if (node.status === 'pending') {
      attrs.push('style="rounded,filled,dashed"', 'class="gk-pending"');
    }
    attrs.push(`label=${table(rows)}`);
    this.lines.push(`${indent}${quote(dotId)} [${attrs.join(', ')}];`);
  }

  private emitBox(group: GraphGroup, indent: string): void {
    const c = this.colors;
    const dotId = this.newId('b', { kind: 'box', id: group.id, title: `${group.name}: click to expand` });
    this.dotIds.set(group.id, dotId);
    const layers = this.countLayers(group.id);
    const rows = [
      `<b>${escapeHtml(group.name)}</b> <font color="${c.muted}">(${escapeHtml(group.class_name)})</font>`,
      `<font point-size="9">${formatInt(layers)} layer${layers === 1 ? '' : 's'} · ${formatInt(group.params)} params</font>`
    ];
    this.lines.push(
      `${indent}${quote(dotId)} [id=${quote(dotId)}, shape=box3d, style=filled, class="gk-box", label=${table(rows)}];`
    );
  }

  private emitCluster(group: GraphGroup, indent: string): void {
    const c = this.colors;
    const dotId = this.newId('c', { kind: 'cluster', id: group.id, title: `${group.name}: click to collapse` });
    const label =
      `<<b>${escapeHtml(group.name)}</b> <font color="${c.muted}">(${escapeHtml(group.class_name)}` +
      ` · ${formatInt(group.params)} params)</font>>`;
    this.lines.push(
      `${indent}subgraph ${quote(`cluster_${dotId}`)} {`,
      `${indent}  id=${quote(dotId)}; label=${label}; style="dashed,rounded"; color=${quote(c.border)};`
    );
    this.emitScope(group.id, `${indent}  `);
    this.lines.push(`${indent}}`);
  }

  /** Layers inside a group, nested groups included. */
  private countLayers(groupId: string): number {
    let n = this.members.get(groupId)?.length ?? 0;
    for (const child of this.children.get(groupId) ?? []) {
      n += this.countLayers(child.id);
    }
    return n;
  }

  /** DOT id standing for a layer: its own node, or the box of the outermost collapsed group holding it. */
  private endpoint(nodeId: string): string | undefined {
    const own = this.dotIds.get(nodeId);
    if (own) {
      return own;
    }
    const seen = new Set<GraphGroup>();
    let box: string | undefined;
    let group = this.groups.get(this.nodes.get(nodeId)?.group ?? '');
    while (group && !seen.has(group)) {
      seen.add(group);
      box = this.dotIds.get(group.id) ?? box;
      group = this.groups.get(group.parent ?? '');
    }
    return box;
  }

  private emitEdges(): void {
    const seen = new Set<string>();
    const cache = new Map<string, string | undefined>();
    const endpoint = (id: string): string | undefined => {
      if (!cache.has(id)) {
        cache.set(id, this.endpoint(id));
      }
      return cache.get(id);
    };
    for (const edge of this.graph.edges) {
      const source = endpoint(edge.source);
      const target = endpoint(edge.target);
      const key = `${source}\u0000${target}\u0000${edge.label}`;
      if (!source || !target || (source === target && source.startsWith('gk-b')) || seen.has(key)) {
        continue;
      }
      seen.add(key);
      this.lines.push(`  ${quote(source)} -> ${quote(target)} [${this.edgeAttrs(edge).join(', ')}];`);
    }
  }

  private edgeAttrs(edge: GraphEdge): string[] {
    // An HTML-like label keeps the text exact while padding it away from the edge line.
    const attrs = edge.label ? [`label=${table([escapeHtml(edge.label)], 3)}`] : [];
    if (edge.status === 'pending') {
      attrs.push('style=dashed');
    } else if (edge.status === 'error') {
      attrs.push(`color=${quote(this.colors.error)}`);
    }
    return attrs;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) {
    list.push(value);
  } else {
    map.set(key, [value]);
  }
}

/** An HTML-like label: one table cell per row. */
function table(rows: string[], padding = 1): string {
  const cells = rows.map(r => `<tr><td>${r}</td></tr>`).join('');
  return `<<table border="0" cellborder="0" cellspacing="0" cellpadding="${padding}">${cells}</table>>`;
}
