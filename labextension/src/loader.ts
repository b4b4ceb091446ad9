/**
 * The live widget's `_esm` (bundled to graphkit/static/graphkit-loader.js). The full front end
 * is sent by the kernel once per page: the first widget asks for it, every widget shares the
 * imported module through `globalThis.__graphkitCore`, then delegates to its `render`.
 */
import type { RenderProps, WidgetModel } from './core/types';

interface Core {
  render(props: RenderProps): () => void;
  version: string;
}

declare global {
  // eslint-disable-next-line no-var
  var __graphkitCore: Promise<Core> | undefined;
}

const TIMEOUT_MS = 60_000;

/** Asks the kernel behind `model` for the core's source and imports it from a Blob URL. */
function requestCore(model: WidgetModel): Promise<Core> {
  return new Promise<Core>((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      model.off('msg:custom', onMessage);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no answer from the kernel within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
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
    model.send({ type: 'hello', need_core: true });
  });
}

/** The page's core, requested through `model` if no widget has asked yet (or a request failed). */
async function loadCore(model: WidgetModel): Promise<Core> {
  let own = false;
  const shared = (): Promise<Core> => {
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

async function render({ model, el }: RenderProps): Promise<(() => void) | undefined> {
  try {
    const core = await loadCore(model);
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

export default { render };
