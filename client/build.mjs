// Bundles the client into dist/: index.html, assets/app.js (an ES module; the whiteboard,
// pdf.js and pdf-lib are split into chunks loaded on demand), assets/app.css,
// assets/excalidraw.css, and the files of public/ (served by Parley under /assets/).
// Everything the browser loads at run time comes from here, never from a CDN: Excalidraw's
// fonts (window.EXCALIDRAW_ASSET_PATH points at /assets/excalidraw/), pdf.js's worker,
// character maps, standard fonts and decoders.
// assets/embed.js (the button for the business's own website, served by Parley at
// /embed.js) is built on its own as one classic script: a host page loads it with a plain
// <script src>, so it may not import chunks.
// Usage: node build.mjs [--watch] [--dev]
import { build, context } from "esbuild";
import { cp, mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const assets = join(dist, "assets");
const modules = join(root, "node_modules");
const watch = process.argv.includes("--watch");
const dev = watch || process.argv.includes("--dev");

const EXCALIDRAW_ASSETS = "/assets/excalidraw/";

/**
 * Excalidraw lists a CDN (esm.sh) after window.EXCALIDRAW_ASSET_PATH as a fallback for its
 * fonts; the browser would try it (and report CSP violations). Point it at our own copy.
 * @type {import("esbuild").Plugin}
 */
const noCdn = {
  name: "excalidraw-no-cdn",
  setup(b) {
    b.onLoad({ filter: /@excalidraw[\\/]excalidraw[\\/]dist[\\/]prod[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      // An absolute URL: Excalidraw uses the fallback as a base for `new URL()` as it is.
      const ours = `(window.location.origin+${JSON.stringify(EXCALIDRAW_ASSETS)})`;
      const contents = source.replace(/`https:\/\/esm\.sh\/\$\{.*?\}\/dist\/prod\/`/g, ours);
      if (contents.includes("esm.sh/")) throw new Error(`a CDN URL is left in ${args.path}`);
      return { contents, loader: "js" };
    });
  },
};

/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints: {
    app: join(root, "src/main.tsx"),
    excalidraw: join(modules, "@excalidraw/excalidraw/dist/prod/index.css"),
  },
  outdir: assets,
  bundle: true,
  format: "esm",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  platform: "browser",
  target: ["chrome100", "firefox100", "safari15", "edge100"],
  jsx: "automatic",
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  legalComments: "linked",
  loader: { ".woff2": "file" },
  define: { "process.env.NODE_ENV": JSON.stringify(dev ? "development" : "production") },
  logLevel: "info",
  plugins: [noCdn],
};

/** @type {import("esbuild").BuildOptions} */
const embedOptions = {
  entryPoints: { embed: join(root, "src/embed.ts") },
  outdir: assets,
  bundle: true,
  format: "iife",
  platform: "browser",
  target: options.target,
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  legalComments: "linked",
  logLevel: "info",
};

/** Static files copied next to the bundle: [from (under node_modules), to (under assets)]. */
const copies = [
  ["@excalidraw/excalidraw/dist/prod/fonts", "excalidraw/fonts"],
  // .js rather than .mjs: every static server knows its MIME type (module scripts need it).
  ["pdfjs-dist/build/pdf.worker.min.mjs", "pdfjs/pdf.worker.min.js"],
  ["pdfjs-dist/cmaps", "pdfjs/cmaps"],
  ["pdfjs-dist/standard_fonts", "pdfjs/standard_fonts"],
  ["pdfjs-dist/wasm", "pdfjs/wasm"],
  ["pdfjs-dist/iccs", "pdfjs/iccs"],
];

await rm(dist, { recursive: true, force: true });
await mkdir(assets, { recursive: true });
await cp(join(root, "index.html"), join(dist, "index.html"));
await cp(join(root, "public"), assets, { recursive: true });
for (const [from, to] of copies) await cp(join(modules, from), join(assets, to), { recursive: true });

if (watch) {
  for (const opts of [options, embedOptions]) await (await context(opts)).watch();
  console.log("watching src/ for changes");
} else {
  await Promise.all([build(options), build(embedOptions)]);
}
