// Excalidraw loads its fonts from window.EXCALIDRAW_ASSET_PATH (a CDN by default). Parley
// serves them itself (client/build.mjs copies them to /assets/excalidraw/fonts/), and
// Excalidraw's stylesheet (/assets/excalidraw.css) is linked only when the board loads.
// Imported before Excalidraw so that both are in place before it renders anything.
declare global {
  interface Window {
    EXCALIDRAW_ASSET_PATH?: string | string[];
  }
}

window.EXCALIDRAW_ASSET_PATH = "/assets/excalidraw/";

const STYLESHEET = "/assets/excalidraw.css";
if (!document.querySelector(`link[href="${STYLESHEET}"]`)) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = STYLESHEET;
  document.head.appendChild(link);
}

export {};
