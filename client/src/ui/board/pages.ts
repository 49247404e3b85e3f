// Document pages for the whiteboard: every browser renders a presented page itself from the
// consultation's file (GET /api/files/{id}); only the file id and page number travel through
// the board document. PDFs are rendered by pdf.js (bundled, loaded on first use, its worker
// and data files served from /assets/pdfjs/); images are used as they are.
import { fileUrl } from "../../protocol/api";
import { ApiError } from "../../protocol/errors";
import type { PDFDocumentProxy } from "pdfjs-dist";

export type DocKind = "pdf" | "image";

const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif"]);
/** Longest side of a rendered PDF page in pixels: sharp when zoomed in, still light. */
const PAGE_PIXELS = 1600;
const PDFJS = "/assets/pdfjs/";

/** What can be shown on the board: PDFs and the images every browser can decode. */
export function presentableKind(contentType: string): DocKind | null {
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/pdf") return "pdf";
  return IMAGE_TYPES.has(type) ? "image" : null;
}

export interface RenderedPage {
  dataURL: string;
  mimeType: string;
  /** Pixels of the rendered page (the aspect ratio is what matters). */
  width: number;
  height: number;
  /** Pages of the document (1 for an image). */
  pages: number;
}

async function download(fileId: string): Promise<Blob> {
  const response = await fetch(fileUrl(fileId), { credentials: "same-origin" });
  if (!response.ok) {
    const code = response.status === 404 ? "not_found" : response.status === 410 ? "content_erased" : "bad_response";
    throw new ApiError(code, `the file could not be loaded (HTTP ${response.status})`, response.status);
  }
  return response.blob();
}

const pdfs = new Map<string, Promise<PDFDocumentProxy>>();

async function openPdf(fileId: string): Promise<PDFDocumentProxy> {
  let doc = pdfs.get(fileId);
  if (!doc) {
    doc = (async () => {
      const [pdfjs, blob] = await Promise.all([import("pdfjs-dist"), download(fileId)]);
      pdfjs.GlobalWorkerOptions.workerSrc = `${PDFJS}pdf.worker.min.js`;
      const data = new Uint8Array(await blob.arrayBuffer());
      return pdfjs.getDocument({
        data,
        cMapUrl: `${PDFJS}cmaps/`,
        cMapPacked: true,
        standardFontDataUrl: `${PDFJS}standard_fonts/`,
        wasmUrl: `${PDFJS}wasm/`,
        iccUrl: `${PDFJS}iccs/`,
        enableXfa: false,
      }).promise;
    })();
    pdfs.set(fileId, doc);
    doc.catch(() => pdfs.delete(fileId));
  }
  return doc;
}

async function renderPdfPage(fileId: string, pageNumber: number): Promise<RenderedPage> {
  const doc = await openPdf(fileId);
  const page = await doc.getPage(Math.min(Math.max(1, pageNumber), doc.numPages));
  const natural = page.getViewport({ scale: 1 });
  const scale = PAGE_PIXELS / Math.max(natural.width, natural.height);
  const viewport = page.getViewport({ scale });
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(viewport.width);
  canvas.height = Math.ceil(viewport.height);
  const context = canvas.getContext("2d");
  if (!context) throw new Error("no 2D canvas");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  await page.render({ canvas, canvasContext: context, viewport }).promise;
  page.cleanup();
  return {
    dataURL: canvas.toDataURL("image/jpeg", 0.9),
    mimeType: "image/jpeg",
    width: canvas.width,
    height: canvas.height,
    pages: doc.numPages,
  };
}

function readAsDataURL(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error("the file could not be read"));
    reader.readAsDataURL(blob);
  });
}

async function renderImage(fileId: string, contentType: string): Promise<RenderedPage> {
  const blob = await download(fileId);
  const typed = blob.type ? blob : new Blob([blob], { type: contentType });
  const bitmap = await createImageBitmap(typed);
  const size = { width: bitmap.width, height: bitmap.height };
  bitmap.close();
  return { dataURL: await readAsDataURL(typed), mimeType: typed.type || contentType, ...size, pages: 1 };
}

/** Renders one page of a consultation file (cached per file for PDFs). */
export function renderPage(fileId: string, kind: DocKind, page: number, contentType = "image/png"): Promise<RenderedPage> {
  return kind === "pdf" ? renderPdfPage(fileId, page) : renderImage(fileId, contentType);
}
