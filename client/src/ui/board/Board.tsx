// The shared whiteboard (loaded on demand: Excalidraw, pdf.js and pdf-lib are not part of
// the join page's bundle). Excalidraw is the editor; protocol/boardBinding.ts keeps its
// elements in the board document, protocol/board.ts keeps that in step with the server.
import "./assetPath";
import { CaptureUpdateAction, Excalidraw, convertToExcalidrawElements, exportToBlob } from "@excalidraw/excalidraw";
import type { BinaryFileData, Collaborator, DataURL, ExcalidrawImperativeAPI, SocketId } from "@excalidraw/excalidraw/types";
import type { FileId } from "@excalidraw/excalidraw/element/types";
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { BoardSession, pageElementId, pageFileId, readPresentation, type Presentation } from "../../protocol/board";
import { BoardBinding, type BoardElement } from "../../protocol/boardBinding";
import type { FileInfo, ParticipantRole } from "../../protocol/types";
import { useI18n } from "../i18n";
import { BoardTools } from "./BoardTools";
import { downloadBlob, exportName, pngToPdf } from "./exporting";
import { renderPage } from "./pages";

export interface BoardProps {
  session: BoardSession;
  role: ParticipantRole;
  consultationId: string;
  /** The consultation's files that can be presented (PDFs and images). */
  files: readonly FileInfo[];
  /** Upload a file into the consultation (the chat shows it too); resolves the stored file. */
  upload: (file: File, onProgress?: (fraction: number) => void) => Promise<FileInfo>;
}

/** Pointer updates at most every 60 ms: smooth, and under the server's 30 awareness updates a second. */
const POINTER_MS = 60;
/** Width of a presented page on the board (scene units). */
const PAGE_WIDTH = 1000;
const PAGE_GAP = 80;

type PageMeta = { file_id: string; page: number; kind: "pdf" | "image"; content_type: string };

function pageMetaOf(element: BoardElement): PageMeta | null {
  const data = element.customData as { parley?: Partial<PageMeta> } | undefined;
  const meta = data?.parley;
  if (!meta || typeof meta.file_id !== "string" || typeof meta.page !== "number") return null;
  if (meta.kind !== "pdf" && meta.kind !== "image") return null;
  return { file_id: meta.file_id, page: meta.page, kind: meta.kind, content_type: meta.content_type ?? "" };
}

export default function Board({ session, role, consultationId, files, upload }: BoardProps) {
  const { t, lang } = useI18n();
  const snap = useSyncExternalStore(session.subscribe, session.snapshot);
  const [api, setApi] = useState<ExcalidrawImperativeAPI | null>(null);
  const [count, setCount] = useState(0);
  const [pagesReady, setPagesReady] = useState(0);
  const [presentation, setPresentation] = useState<Presentation | null>(() => readPresentation(session.view));
  const [error, setError] = useState<string | null>(null);
  const binding = useRef<BoardBinding | null>(null);
  const rendering = useRef(new Set<string>());
  const pendingScroll = useRef<string | null>(null);
  const lastPointer = useRef(0);
  const canEdit = role === "advisor" || !snap.locked;

  // The binding lives as long as the editor.
  useEffect(() => {
    if (!api) return undefined;
    const created = new BoardBinding(
      session.elements,
      {
        getElements: () => api.getSceneElementsIncludingDeleted() as unknown as readonly BoardElement[],
        setElements: (elements) =>
          api.updateScene({ elements: elements as never, captureUpdate: CaptureUpdateAction.NEVER }),
      },
      () => setError(t("board.tooLarge")),
    );
    binding.current = created;
    return () => {
      created.flush();
      created.destroy();
      if (binding.current === created) binding.current = null;
    };
  }, [api, session, t]);

  useEffect(() => binding.current?.setEnabled(canEdit), [canEdit, api]);

  // Page images: every browser renders the pages on the board from the file itself.
  const ensurePages = useCallback(
    (elements: readonly BoardElement[]) => {
      if (!api) return;
      const have = api.getFiles();
      for (const element of elements) {
        if (element.isDeleted || element.type !== "image") continue;
        const fileId = element.fileId as string | undefined;
        const meta = pageMetaOf(element);
        if (!fileId || !meta || have[fileId] || rendering.current.has(fileId)) continue;
        rendering.current.add(fileId);
        renderPage(meta.file_id, meta.kind, meta.page, meta.content_type)
          .then((page) => {
            const file: BinaryFileData = {
              id: fileId as FileId,
              dataURL: page.dataURL as DataURL,
              mimeType: page.mimeType as BinaryFileData["mimeType"],
              created: Date.now(),
            };
            api.addFiles([file]);
            setPagesReady((n) => n + 1);
          })
          .catch((err: unknown) => {
            console.warn("parley: page %s could not be rendered", fileId, err);
            rendering.current.delete(fileId);
            setError(t("board.pageFailed"));
          });
      }
    },
    [api, t],
  );

  const scrollToPage = useCallback(
    (target: string | null) => {
      pendingScroll.current = target;
      if (!api || !target) return;
      const element = api.getSceneElements().find((e) => e.id === target);
      if (!element) return;
      pendingScroll.current = null;
      api.scrollToContent(element, { fitToViewport: true, viewportZoomFactor: 0.9, animate: true });
    },
    [api],
  );

  // The shared page: whenever the presentation changes, everyone scrolls to its page.
  useEffect(() => {
    const follow = () => {
      const next = readPresentation(session.view);
      setPresentation(next);
      scrollToPage(next ? pageElementId(next.file_id, next.page) : null);
    };
    follow();
    session.view.observe(follow);
    return () => session.view.unobserve(follow);
  }, [session, scrollToPage]);

  // Live cursors and laser trails of the others.
  useEffect(() => {
    if (!api) return;
    const collaborators = new Map<SocketId, Collaborator>();
    for (const peer of snap.peers) {
      const key = `${peer.participantId}:${peer.clientId}` as SocketId;
      collaborators.set(key, {
        username: peer.state.name,
        color: { background: peer.state.color, stroke: peer.state.color },
        pointer: peer.state.pointer,
        button: peer.state.button,
        id: peer.participantId,
        socketId: key,
      });
    }
    api.updateScene({ collaborators });
  }, [api, snap.peers]);

  const onChange = useCallback(
    (elements: readonly unknown[]) => {
      const list = elements as readonly BoardElement[];
      binding.current?.schedule(list);
      ensurePages(list);
      setCount(list.filter((e) => !e.isDeleted).length);
      if (pendingScroll.current) scrollToPage(pendingScroll.current);
    },
    [ensurePages, scrollToPage],
  );

  const onPointerUpdate = useCallback(
    (payload: { pointer: { x: number; y: number; tool: "pointer" | "laser" }; button: "up" | "down" }) => {
      const now = performance.now();
      if (now - lastPointer.current < POINTER_MS) return;
      lastPointer.current = now;
      const { x, y, tool } = payload.pointer;
      session.setLocal({ pointer: { x: Math.round(x), y: Math.round(y), tool }, button: payload.button });
    },
    [session],
  );

  // ---- actions -----------------------------------------------------------------------

  const centre = () => {
    if (!api) return { x: 0, y: 0 };
    const s = api.getAppState();
    return { x: -s.scrollX + s.width / 2 / s.zoom.value, y: -s.scrollY + s.height / 2 / s.zoom.value };
  };

  const addSticky = () => {
    if (!api) return;
    const { x, y } = centre();
    const note = convertToExcalidrawElements([
      {
        type: "rectangle",
        x: x - 110,
        y: y - 80,
        width: 220,
        height: 160,
        backgroundColor: "#ffec99",
        strokeColor: "#e67700",
        fillStyle: "solid",
        roughness: 0,
        label: { text: t("board.stickyText"), fontSize: 20 },
      },
    ]);
    api.updateScene({
      elements: [...api.getSceneElementsIncludingDeleted(), ...note],
      appState: { selectedElementIds: Object.fromEntries(note.map((e) => [e.id, true])) },
      captureUpdate: CaptureUpdateAction.IMMEDIATELY,
    });
  };

  /** Shows page `page` of `file` to everyone, placing it on the board the first time. */
  const present = async (file: FileInfo, kind: "pdf" | "image", page: number) => {
    if (!api) return;
    setError(null);
    const id = pageElementId(file.id, page);
    const fileId = pageFileId(file.id, page);
    let pages = presentation?.file_id === file.id ? presentation.pages : 1;
    const existing = api.getSceneElements().find((e) => e.id === id);
    if (!existing) {
      let rendered;
      try {
        rendered = await renderPage(file.id, kind, page, file.content_type);
      } catch {
        setError(t("board.pageFailed"));
        return;
      }
      pages = rendered.pages;
      api.addFiles([
        {
          id: fileId as FileId,
          dataURL: rendered.dataURL as DataURL,
          mimeType: rendered.mimeType as BinaryFileData["mimeType"],
          created: Date.now(),
        },
      ]);
      rendering.current.add(fileId);
      const all = api.getSceneElements();
      const sameDoc = all.filter((e) => (e.customData as { parley?: { file_id?: string } } | undefined)?.parley?.file_id === file.id);
      let x = 0;
      let y = 0;
      if (sameDoc.length > 0) {
        x = Math.min(...sameDoc.map((e) => e.x));
        y = Math.max(...sameDoc.map((e) => e.y + e.height)) + PAGE_GAP;
      } else if (all.length > 0) {
        x = Math.max(...all.map((e) => e.x + e.width)) + PAGE_GAP * 2;
        y = Math.min(...all.map((e) => e.y));
      }
      const [image] = convertToExcalidrawElements([
        {
          type: "image",
          id,
          fileId: fileId as FileId,
          x,
          y,
          width: PAGE_WIDTH,
          height: Math.round((PAGE_WIDTH * rendered.height) / rendered.width),
          locked: true,
          status: "saved",
          customData: { parley: { file_id: file.id, page, kind, content_type: file.content_type, name: file.name } },
        },
      ]);
      if (!image) return;
      // Beneath everything drawn so far: first in the list (Excalidraw gives it an index).
      api.updateScene({
        elements: [image, ...api.getSceneElementsIncludingDeleted()],
        captureUpdate: CaptureUpdateAction.NEVER,
      });
      binding.current?.schedule(api.getSceneElementsIncludingDeleted() as unknown as readonly BoardElement[]);
      binding.current?.flush();
    } else if (presentation?.file_id !== file.id) {
      try {
        pages = (await renderPage(file.id, kind, page, file.content_type)).pages;
      } catch {
        pages = page;
      }
    }
    session.present({ file_id: file.id, name: file.name, content_type: file.content_type, kind, page, pages });
  };

  const exportPng = async (): Promise<Blob | null> => {
    if (!api) return null;
    return exportToBlob({
      elements: api.getSceneElements(),
      appState: { ...api.getAppState(), exportBackground: true, viewBackgroundColor: "#ffffff" },
      files: api.getFiles(),
      mimeType: "image/png",
      exportPadding: 24,
    });
  };

  const [exporting, setExporting] = useState<"png" | "pdf" | null>(null);
  const doExport = async (format: "png" | "pdf") => {
    if (exporting) return;
    setError(null);
    setExporting(format);
    try {
      const png = await exportPng();
      if (!png) return;
      if (format === "png") downloadBlob(png, exportName("png"));
      else downloadBlob(await pngToPdf(png, t("board.title")), exportName("pdf"));
    } catch (err) {
      console.warn("parley: export failed", err);
      setError(t("board.exportFailed"));
    } finally {
      setExporting(null);
    }
  };

  const doLock = async (locked: boolean) => {
    setError(null);
    const failure = await session.lock(locked);
    if (failure) setError(t("board.lockFailed"));
  };

  const doClear = () => {
    if (!api) return;
    session.clear();
    session.present(null);
  };

  // Excalidraw (0.18) renders its menu button with an icon only and takes no label for it:
  // it gets one from here, in the page's language, whenever Excalidraw renders it anew.
  const canvas = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const root = canvas.current;
    if (!root) return undefined;
    const label = t("board.menu");
    const name = () => {
      for (const button of root.querySelectorAll<HTMLButtonElement>("button.main-menu-trigger")) {
        if (button.getAttribute("aria-label") !== label) button.setAttribute("aria-label", label);
      }
    };
    name();
    const observer = new MutationObserver(name);
    observer.observe(root, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, [t]);

  const uiOptions = useMemo(
    () => ({
      canvasActions: {
        loadScene: false,
        saveToActiveFile: false,
        export: false as const,
        saveAsImage: false,
        clearCanvas: false,
        toggleTheme: false,
      },
      tools: { image: false },
    }),
    [],
  );

  return (
    <div
      className={`board ${snap.locked ? "board-locked" : ""}`}
      data-testid="board"
      data-element-count={count}
      data-pages-ready={pagesReady}
      data-locked={snap.locked ? "true" : "false"}
      data-synced={snap.synced ? "true" : "false"}
      data-presented={presentation ? `${presentation.file_id}:${presentation.page}` : ""}
    >
      <BoardTools
        role={role}
        consultationId={consultationId}
        locked={snap.locked}
        canEdit={canEdit}
        empty={count === 0}
        presentation={presentation}
        files={files}
        error={error ?? (snap.error && snap.error.code !== "board_locked" ? t("board.syncFailed") : null)}
        onSticky={addSticky}
        onPresent={(file, kind, page) => void present(file, kind, page)}
        onStopPresenting={() => session.present(null)}
        onUpload={upload}
        onLock={(locked) => void doLock(locked)}
        onClear={doClear}
        onExport={(format) => void doExport(format)}
        exporting={exporting}
      />
      <div className="board-canvas" ref={canvas}>
        <Excalidraw
          excalidrawAPI={setApi}
          onChange={onChange}
          onPointerUpdate={onPointerUpdate}
          viewModeEnabled={!canEdit}
          isCollaborating
          langCode={lang === "de" ? "de-DE" : "en"}
          UIOptions={uiOptions}
          name={t("board.title")}
          aiEnabled={false}
          handleKeyboardGlobally={false}
          autoFocus={false}
        />
      </div>
    </div>
  );
}
