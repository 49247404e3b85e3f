// Exports of the whiteboard for download: PNG (Excalidraw's own exporter) and PDF (that PNG
// on an A4 page, made with pdf-lib, loaded on first use).
const A4 = { long: 841.89, short: 595.28 };
const MARGIN = 28;

export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.rel = "noopener";
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** One A4 page (landscape or portrait, whichever fits better) with the image centred. */
export async function pngToPdf(png: Blob, title: string): Promise<Blob> {
  const { PDFDocument } = await import("pdf-lib");
  const pdf = await PDFDocument.create();
  pdf.setTitle(title);
  pdf.setCreator("Parley");
  pdf.setProducer("Parley");
  const image = await pdf.embedPng(new Uint8Array(await png.arrayBuffer()));
  const landscape = image.width >= image.height;
  const width = landscape ? A4.long : A4.short;
  const height = landscape ? A4.short : A4.long;
  const page = pdf.addPage([width, height]);
  const scale = Math.min((width - 2 * MARGIN) / image.width, (height - 2 * MARGIN) / image.height, 1);
  const w = image.width * scale;
  const h = image.height * scale;
  page.drawImage(image, { x: (width - w) / 2, y: (height - h) / 2, width: w, height: h });
  const bytes = await pdf.save();
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/pdf" });
}

export function exportName(extension: string): string {
  const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
  return `whiteboard-${stamp}.${extension}`;
}
