/**
 * The live widget's `_esm` (bundled to graphkit/static/graphkit-loader.js). It finds the full
 * front end, once per page, then delegates to it:
 *
 * - in JupyterLab with graphkit's extension, the copy the extension put on the page
 *   (`globalThis.__graphkitLab`), when its version is the kernel's graphkit version;
 * - elsewhere (VS Code, Colab, ...), the kernel sends it once: the first widget asks for it,
 *   every widget shares the imported module through `globalThis.__graphkitCore`.
 *
 * Messages that arrive before the core is there are kept and handed over to it, so nothing
 * a running cell draws is lost.
 */
import type { RenderProps, WidgetCore, WidgetModel } from './core/types';

const TIMEOUT_MS = 60_000;
const MAX_BACKLOG = 10_000;

/** The extension's core, when it matches the kernel's graphkit. */
function labCore(model: WidgetModel): WidgetCore | undefined {
  const lab = globalThis.__graphkitLab;
  return lab && lab.version === model.get('_version') ? lab : undefined;
}

/** Asks the kernel behind `model` for the core's source and imports it from a Blob URL. */
function requestCore(model: WidgetModel): Promise<WidgetCore> {
  return new Promise<WidgetCore>((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      model.off('msg:custom', onMessage);
      model.off('destroy', onDestroy);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no answer from the kernel within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
    // A widget closed before its kernel answered: another widget must ask.
    const onDestroy = (): void => {
      finish();
      reject(new Error('the widget that asked for the graph view was closed'));
    };
    const onMessage = (msg: { type?: string; source?: string | null; error?: string }): void => {
      if (msg?.type !== 'core') {
        return;
      }
      finish();
      if (typeof msg.source !== 'string') {
        reject(new Error(msg.error || 'the kernel sent no graph view'));
        return;
      }
      const url = URL.createObjectURL(new Blob([msg.source], { type: 'text/javascript' }));
      import(/* webpackIgnore: true */ url)
        .then(resolve, reject)
        .finally(() => URL.revokeObjectURL(url));
    };
    model.on('msg:custom', onMessage);
    model.on('destroy', onDestroy);
    model.send({ type: 'hello', need_core: true });
  });
}

/** The page's core, requested through `model` if no widget has asked yet (or a request failed). */
async function loadCore(model: WidgetModel): Promise<WidgetCore> {
  let own = false;
  const shared = (): Promise<WidgetCore> => {
    if (!globalThis.__graphkitCore) {
      const request = requestCore(model);
      request.catch(() => {
        if (globalThis.__graphkitCore === request) {
          globalThis.__graphkitCore = undefined;
        }
      });
      globalThis.__graphkitCore = request;
      own = true;
    }
    return globalThis.__graphkitCore;
  };
  try {
    return await shared();
  } catch (err) {
    if (own) {
      throw err;
    }
    return await shared(); // another widget's request failed: ask through this one
  }
}

/** Messages of widget models whose core is not loaded yet, by the model's `_uid`. */
const backlogs = new Map<string, { model: WidgetModel; messages: unknown[]; keep: (msg: unknown) => void }>();

/** anywidget calls this once per widget model, before any view: start listening at once. */
function initialize({ model }: { model: WidgetModel }): void {
  const lab = labCore(model);
  if (lab) {
    lab.track(model);
    return;
  }
  const key = model.get('_uid') as string;
  const messages: unknown[] = [];
  const keep = (msg: unknown): void => {
    if (messages.push(msg) > MAX_BACKLOG) {
      messages.shift(); // the core will see a gap in seq and ask for the whole graph
    }
  };
  model.on('msg:custom', keep);
  model.on('destroy', () => backlogs.delete(key));
  backlogs.set(key, { model, messages, keep });
}

async function render({ model, el }: RenderProps): Promise<(() => void) | undefined> {
  try {
    const core = labCore(model) ?? (await loadCore(model));
    const key = model.get('_uid') as string;
    const pending = backlogs.get(key);
    if (pending) {
      backlogs.delete(key);
      pending.model.off('msg:custom', pending.keep);
      core.track(pending.model, pending.messages);
    }
    return core.render({ model, el });
  } catch (err) {
    // The DOM contract's error state; the core's stylesheet may be absent, so style inline.
    const view = document.createElement('div');
    view.className = 'gk-graph-view';
    view.dataset.state = 'error';
    const message = document.createElement('div');
    message.className = 'gk-message';
    message.style.cssText = 'padding: 8px; color: var(--jp-error-color1, #d32f2f)';
    message.textContent =
      `graphkit could not load the graph view: ${err instanceof Error ? err.message : String(err)} ` +
      '(run the cell again to retry)';
    view.appendChild(message);
    el.replaceChildren(view);
    return undefined;
  }
}

export default { initialize, render };
