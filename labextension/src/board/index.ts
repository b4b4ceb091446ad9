/**
 * graphkit's board front end (`graphkit/static/graphkit-board.js`): `mountBoard(element, source)`
 * draws a board payload (docs/board.md) and, given a server URL, follows it live.
 */
import { Board } from './board';
import type { BoardHandle, BoardSource } from './types';

export type { BoardHandle, BoardPayload, BoardSource } from './types';

/** The debug hook tests and benchmarks read: `element.__gkBoard`. */
export interface BoardDebugHook {
  debug(): unknown;
  board: Board;
}

declare global {
  interface HTMLElement {
    __gkBoard?: BoardDebugHook;
  }
}

/** Draws the board into `element` from `source.payload` and/or the server at `source.url`. */
export function mountBoard(element: HTMLElement, source: BoardSource): BoardHandle {
  const board = new Board(element, source);
  element.__gkBoard = { debug: () => board.debug(), board };
  return {
    update: payload => board.update(payload),
    dispose: () => {
      board.dispose();
      delete element.__gkBoard;
    }
  };
}
