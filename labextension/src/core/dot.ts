/**
 * Graph JSON + the set of collapsed groups -> DOT text for graphviz.
 *
 * This mirrors `graph_to_dot` of graphkit/viz/dot.py line for line: tests/test_dot_snapshots.py
 * holds both to the DOT stored in tests/snapshots/dot/. DOT nodes are named by their graph id, so
 * the renderer finds each drawn element by its graphviz title (`targets` is keyed by title:
 * the layer or collapsed group id, `cluster_<id>` for an open group).
 */
import { escapeHtml, formatInt, wrap } from './format';
import type { ThemeColors } from './theme';
import type { GraphData, GraphGroup, GraphNode } from './types';

/** What an SVG element drawn from DOT title `key` stands for, and its tooltip. */
export interface DotTarget {
  kind: 'node' | 'box' | 'cluster';
  id: string;
  title: string;
}

export interface DotResult {
  dot: string;
  /** Keyed by graphviz title (`byTitle`), else by DOT id. */
  targets: Map<string, DotTarget>;
  byTitle?: boolean;
}

// graphviz sizes labels with its Helvetica metrics; styles.ts renders SVG text with that family.
const FONT = 'Helvetica';
const ERROR_LINE_WIDTH = 44;
const ERROR_LINES = 4;
// Model boxes (open clusters and collapsed boxes): an accent tint, unlike the layers' boxes.
const MODEL_BORDER_ALPHA = '80';
const MODEL_FILL_ALPHA = '14';

/** Builds the DOT for `graph`, drawing each group in `collapsed` (or inside one) as one box. */
export function buildDot(graph: GraphData, collapsed: ReadonlySet<string>, colors: ThemeColors): DotResult {
  return new GraphDrawing(graph, collapsed, colors).draw();
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

/** The text of a DOT quoted id: what graphviz shows as the element's title. */
function idText(text: string): string {
  return text.replace(/\\/g, '%5C').replace(/\n/g, ' ');
}

/** A DOT quoted id (backslashes avoided: a trailing one would escape the closing quote). */
export function quoteId(text: string): string {
  return `"${idText(text).replace(/"/g, '\\"')}"`;
}

/** An HTML-like label: one borderless table cell per row (rows are HTML already). */
function htmlTable(rows: string[], padding = 1): string {
  const cells = rows.map(row => `<tr><td>${row}</td></tr>`).join('');
  return `<<table border="0" cellborder="0" cellspacing="0" cellpadding="${padding}">${cells}</table>>`;
}

/** `color` (`#rrggbb` or `#rrggbbaa`) at opacity `alpha` (two hex digits); any other colour as it is. */
function tint(color: string, alpha: string): string {
  return /^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(color) ? color.slice(0, 7) + alpha : color;
}

/** `<b>name</b> (className<detail>)`, the parenthesis muted. */
function titleRow(name: string, className: string, detail: string, colors: ThemeColors): string {
  return (
    `<b>${escapeHtml(name)}</b> <font color="${escapeHtml(colors.muted)}">` +
    `(${escapeHtml(className)}${escapeHtml(detail)})</font>`
  );
}

function smallRow(text: string, color?: string): string {
  const tinted = color ? ` color="${escapeHtml(color)}"` : '';
  return `<font point-size="9"${tinted}>${escapeHtml(text)}</font>`;
}

type ScopeItem = string | { groupId: string; attributes: string };

/** DOT statements in drawing order: nodes and clusters, each in its group's scope, then edges. */
class DotText {
  private scopes = new Map<string | null, ScopeItem[]>([[null, []]]);
  private edges: string[] = [];
  private edgeKeys = new Set<string>();

  addNode(nodeId: string, attributes: string[], group: string | null): void {
    this.scopes.get(group)!.push(`${quoteId(nodeId)} [${attributes.join(', ')}];`);
  }

  addCluster(groupId: string, attributes: string, parent: string | null): void {
    this.scopes.get(parent)!.push({ groupId, attributes });
    this.scopes.set(groupId, []);
  }

  addEdge(source: string, target: string, attributes: string[], key: string | null): void {
    const id = JSON.stringify([source, target, key]);
    if (this.edgeKeys.has(id)) {
      return;
    }
    this.edgeKeys.add(id);
    const tail = attributes.length ? ` [${attributes.join(', ')}]` : '';
    this.edges.push(`\t${quoteId(source)} -> ${quoteId(target)}${tail};`);
  }

  text(opening: string, settings: string[]): string {
    const lines = [opening, ...settings.map(s => `\t${s}`)];
    this.emit(null, '\t', lines);
    lines.push(...this.edges, '}');
    return lines.join('\n') + '\n';
  }

  private emit(scope: string | null, indent: string, lines: string[]): void {
    for (const item of this.scopes.get(scope) ?? []) {
      if (typeof item === 'string') {
        lines.push(indent + item);
        continue;
      }
      lines.push(`${indent}subgraph ${quoteId(`cluster_${item.groupId}`)} {`, `${indent}\t${item.attributes}`);
      this.emit(item.groupId, `${indent}\t`, lines);
      lines.push(`${indent}}`);
    }
  }
}

function nodeAttributes(node: GraphNode, colors: ThemeColors): string[] {
  const rows = [titleRow(node.name, node.class_name, '', colors)];
  if (node.output_shape) {
    rows.push(smallRow(node.output_shape));
  }
  if (node.params) {
    rows.push(smallRow(`${formatInt(node.params)} params`));
  }
  const attributes: string[] = [];
  if (node.status === 'error') {
    for (const line of wrap(node.error || 'error', ERROR_LINE_WIDTH, ERROR_LINES)) {
      rows.push(smallRow(line, colors.error));
    }
    attributes.push(`color=${quoteId(colors.error)}`, 'penwidth=2', 'class="gk-error"');
  } else if (node.status === 'pending') {
    attributes.push('style="rounded,filled,dashed"', 'class="gk-pending"');
  }
  attributes.push(`label=${htmlTable(rows)}`);
  return attributes;
}

class GraphDrawing {
  private groups: Map<string, GraphGroup>;
  private nodes: Map<string, GraphNode>;
  private children = new Map<string | null, GraphGroup[]>();
  private members = new Map<string | null, GraphNode[]>();
  /** Layers drawn as their own node, and collapsed groups drawn as one node. */
  private drawn = new Set<string>();
  private boxes = new Set<string>();
  private dot = new DotText();
  private targets = new Map<string, DotTarget>();

  constructor(
    private graph: GraphData,
    private collapsed: ReadonlySet<string>,
    private colors: ThemeColors
  ) {
    this.groups = new Map(graph.groups.map(g => [g.id, g]));
    this.nodes = new Map(graph.nodes.map(n => [n.id, n]));
    const known = (id: string | null | undefined): string | null =>
      id !== null && id !== undefined && this.groups.has(id) ? id : null;
    for (const group of graph.groups) {
      push(this.children, known(group.parent), group);
    }
    for (const node of graph.nodes) {
      push(this.members, known(node.group), node);
    }
  }

  draw(): DotResult {
    const c = this.colors;
    this.scope(null);
    const endpoints = new Map<string, string | null>();
    const endpoint = (id: string): string | null => {
      if (!endpoints.has(id)) {
        endpoints.set(id, this.endpoint(id));
      }
      return endpoints.get(id)!;
    };
    for (const edge of this.graph.edges) {
      const source = endpoint(edge.source);
      const target = endpoint(edge.target);
      if (source === null || target === null || (source === target && this.boxes.has(source))) {
        continue;
      }
      // A table label keeps the text exact while padding it away from the edge line.
      const attributes = edge.label ? [`label=${htmlTable([escapeHtml(edge.label)], 3)}`] : [];
      if (edge.status === 'pending') {
        attributes.push('style=dashed');
      } else if (edge.status === 'error') {
        attributes.push(`color=${quoteId(c.error)}`);
      }
      this.dot.addEdge(source, target, attributes, edge.label ?? null);
    }
    const font = quoteId(FONT);
    const dot = this.dot.text(`digraph ${quoteId(this.graph.title || 'graph')} {`, [
      `graph [rankdir=${quoteId(this.graph.rankdir || 'TB')}, bgcolor="transparent", ` +
        `fontname=${font}, fontsize=10, fontcolor=${quoteId(c.text)}, nodesep=0.3, ranksep=0.35, pad=0.1];`,
      `node [shape=box, style="rounded,filled", fillcolor=${quoteId(c.fill)}, ` +
        `color=${quoteId(c.border)}, fontcolor=${quoteId(c.text)}, fontname=${font}, fontsize=10, ` +
        `margin="0.1,0.04"];`,
      `edge [color=${quoteId(c.muted)}, fontcolor=${quoteId(c.muted)}, fontname=${font}, ` +
        `fontsize=9, arrowsize=0.7];`
    ]);
    return { dot, targets: this.targets, byTitle: true };
  }

  /** Draws the layers and groups directly inside `groupId` (null: the top level). */
  private scope(groupId: string | null): void {
    for (const node of this.members.get(groupId) ?? []) {
      this.dot.addNode(node.id, nodeAttributes(node, this.colors), groupId);
      this.drawn.add(node.id);
      this.targets.set(idText(node.id), { kind: 'node', id: node.id, title: node.id });
    }
    const c = this.colors;
    const border = quoteId(tint(c.accent, MODEL_BORDER_ALPHA));
    const fill = quoteId(tint(c.accent, MODEL_FILL_ALPHA));
    for (const group of this.children.get(groupId) ?? []) {
      const params = `${formatInt(group.params || 0)} params`;
      if (this.collapsed.has(group.id)) {
        const layers = this.countLayers(group.id);
        const rows = [
          titleRow(group.name, group.class_name, '', c),
          smallRow(`${formatInt(layers)} layer${layers === 1 ? '' : 's'} · ${params}`)
        ];
        const attributes = ['shape=box3d', 'style=filled', `color=${border}`, `fillcolor=${fill}`, 'class="gk-box"'];
        this.dot.addNode(group.id, [...attributes, `label=${htmlTable(rows)}`], groupId);
        this.boxes.add(group.id);
        this.targets.set(idText(group.id), { kind: 'box', id: group.id, title: `${group.name}: click to expand` });
      } else {
        const title = titleRow(group.name, group.class_name, ` · ${params}`, c);
        this.dot.addCluster(
          group.id,
          `label=<${title}>; labeljust=l; style="rounded,filled"; color=${border}; fillcolor=${fill};`,
          groupId
        );
        this.targets.set(idText(`cluster_${group.id}`), {
          kind: 'cluster',
          id: group.id,
          title: `${group.name}: click to collapse`
        });
        this.scope(group.id);
      }
    }
  }

  private group(id: string | null | undefined): GraphGroup | undefined {
    return id === null || id === undefined ? undefined : this.groups.get(id);
  }

  /** Layers inside a group, nested groups included. */
  private countLayers(groupId: string): number {
    let n = this.members.get(groupId)?.length ?? 0;
    for (const child of this.children.get(groupId) ?? []) {
      n += this.countLayers(child.id);
    }
    return n;
  }

  /** What an edge of layer `nodeId` attaches to: its node, else the box of the outermost collapsed group holding it. */
  private endpoint(nodeId: string): string | null {
    if (this.drawn.has(nodeId)) {
      return nodeId;
    }
    let box: string | null = null;
    const seen = new Set<string>();
    let group = this.group(this.nodes.get(nodeId)?.group);
    while (group && !seen.has(group.id)) {
      seen.add(group.id);
      if (this.boxes.has(group.id)) {
        box = group.id;
      }
      group = this.group(group.parent);
    }
    return box;
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
