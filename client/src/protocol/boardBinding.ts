// Binds the editor's elements (Excalidraw's format) to the board document's Y.Map
// "elements" (see board.ts for the layout). No UI code: the editor is reached through
// the two-method SceneAdapter.
//
// Local changes: the editor reports its elements after every change; the binding keeps the
// `version:versionNonce` stamp it last synced per element and writes only elements whose
// stamp changed (a deleted element is removed from the map), in transactions of at most
// BATCH_BYTES of JSON, at most every THROTTLE_MS (a pen stroke changes on every mouse move).
// Remote changes (and local operations that bypass the editor, e.g. clearing the board or
// placing a document page): merged into the editor's current elements, ordered by their
// fractional `index`, and handed to the editor without entering its undo history, so that
// undo and redo only ever revert one's own changes.
import * as Y from "yjs";

export const SCENE_ORIGIN = "parley:scene";
/** Origin of local operations that the editor has to be told about. */
export const LOCAL_OP_ORIGIN = "parley:local-op";
const THROTTLE_MS = 50;
/** JSON bytes per transaction; well under the server's 256 KiB per update. */
export const BATCH_BYTES = 192 * 1024;

export interface BoardElement {
  id: string;
  version: number;
  versionNonce: number;
  isDeleted: boolean;
  index?: string | null;
  [key: string]: unknown;
}

export interface SceneAdapter {
  /** Every element of the editor, deleted ones included. */
  getElements(): readonly BoardElement[];
  /** Replaces the editor's elements; not recorded in the editor's undo history. */
  setElements(elements: BoardElement[]): void;
}

function stampOf(element: BoardElement): string {
  return `${element.version}:${element.versionNonce}`;
}

function isElement(value: unknown): value is BoardElement {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "string" && typeof v.version === "number" && typeof v.versionNonce === "number";
}

/** Excalidraw's stacking order: fractional index (plain string order), then id. */
export function byIndex(a: BoardElement, b: BoardElement): number {
  const ai = a.index ?? "\uffff";
  const bi = b.index ?? "\uffff";
  if (ai !== bi) return ai < bi ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The board's live elements, in stacking order (copies). */
export function elementsOf(map: Y.Map<unknown>): BoardElement[] {
  const list: BoardElement[] = [];
  for (const value of map.values()) if (isElement(value)) list.push(structuredClone(value));
  return list.sort(byIndex);
}

/** Removes every element in one transaction (clearing the board). */
export function clearElements(map: Y.Map<unknown>): void {
  const doc = map.doc;
  const run = () => {
    for (const key of [...map.keys()]) map.delete(key);
  };
  if (doc) doc.transact(run, LOCAL_OP_ORIGIN);
  else run();
}

/** Writes elements directly into the document (they reach the editor through the binding). */
export function putElements(map: Y.Map<unknown>, elements: readonly BoardElement[], also?: () => void): void {
  const run = () => {
    for (const element of elements) map.set(element.id, structuredClone(element));
    also?.();
  };
  if (map.doc) map.doc.transact(run, LOCAL_OP_ORIGIN);
  else run();
}

export class BoardBinding {
  /** Stamp per element id of what the document and the editor agree on. */
  private readonly known = new Map<string, string>();
  private latest: readonly BoardElement[] | null = null;
  private timer: number | null = null;
  private enabled = true;
  private destroyed = false;

  constructor(
    private readonly map: Y.Map<unknown>,
    private readonly scene: SceneAdapter,
    private readonly onTooLarge: (id: string) => void = () => undefined,
  ) {
    map.observe(this.onMapChange);
    this.loadAll();
  }

  /** Local edits are written only while enabled (a locked board refuses customers' edits). */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  /** The editor changed: write what differs, at most every THROTTLE_MS. */
  schedule(elements: readonly BoardElement[]): void {
    if (this.destroyed) return;
    this.latest = elements;
    if (this.timer !== null) return;
    this.timer = window.setTimeout(() => {
      this.timer = null;
      this.flush();
    }, THROTTLE_MS);
  }

  /** Writes the last reported elements now. */
  flush(): void {
    const elements = this.latest;
    this.latest = null;
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
    if (!elements || this.destroyed || !this.enabled) return;
    const batches: Array<Array<[string, BoardElement | null]>> = [[]];
    let size = 0;
    for (const element of elements) {
      const stamp = stampOf(element);
      if (this.known.get(element.id) === stamp) continue;
      this.known.set(element.id, stamp);
      let change: [string, BoardElement | null];
      let bytes = 64;
      if (element.isDeleted) {
        if (!this.map.has(element.id)) continue;
        change = [element.id, null];
      } else {
        const json = JSON.stringify(element);
        bytes = json.length;
        if (bytes > BATCH_BYTES) {
          this.onTooLarge(element.id);
          continue;
        }
        change = [element.id, JSON.parse(json) as BoardElement];
      }
      if (size + bytes > BATCH_BYTES) {
        batches.push([]);
        size = 0;
      }
      batches[batches.length - 1]?.push(change);
      size += bytes;
    }
    for (const batch of batches) {
      if (batch.length === 0) continue;
      const write = () => {
        for (const [id, value] of batch) {
          if (value === null) this.map.delete(id);
          else this.map.set(id, value);
        }
      };
      if (this.map.doc) this.map.doc.transact(write, SCENE_ORIGIN);
      else write();
    }
  }

  destroy(): void {
    this.destroyed = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.map.unobserve(this.onMapChange);
  }

  private loadAll(): void {
    const current = new Map(this.scene.getElements().map((e) => [e.id, e]));
    for (const [id, value] of this.map.entries()) {
      if (!isElement(value)) continue;
      const copy = structuredClone(value);
      current.set(id, copy);
      this.known.set(id, stampOf(copy));
    }
    if (current.size > 0) this.scene.setElements([...current.values()].sort(byIndex));
  }

  private readonly onMapChange = (event: Y.YMapEvent<unknown>, transaction: Y.Transaction): void => {
    if (transaction.origin === SCENE_ORIGIN || this.destroyed) return;
    const current = new Map(this.scene.getElements().map((e) => [e.id, e]));
    for (const id of event.keysChanged) {
      const value = this.map.get(id);
      if (isElement(value)) {
        const copy = structuredClone(value);
        current.set(id, copy);
        this.known.set(id, stampOf(copy));
        continue;
      }
      const existing = current.get(id);
      if (!existing || existing.isDeleted) continue;
      // Removed from the document: deleted in the editor too (a new stamp the binding knows).
      const deleted = { ...existing, isDeleted: true, version: existing.version + 1 };
      current.set(id, deleted);
      this.known.set(id, stampOf(deleted));
    }
    this.scene.setElements([...current.values()].sort(byIndex));
  };
}
