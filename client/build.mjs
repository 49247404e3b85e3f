// Bundles the client into dist/: index.html, assets/app.js, assets/app.css and the
// files of public/ (served by Parley under /assets/). Usage: node build.mjs [--watch] [--dev]
import { build, context } from "esbuild";
import { cp, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const watch = process.argv.includes("--watch");
const dev = watch || process.argv.includes("--dev");

/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints: { app: join(root, "src/main.tsx") },
  outdir: join(dist, "assets"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["chrome100", "firefox100", "safari15", "edge100"],
  jsx: "automatic",
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  legalComments: "linked",
  define: { "process.env.NODE_ENV": JSON.stringify(dev ? "development" : "production") },
  logLevel: "info",
};

await rm(dist, { recursive: true, force: true });
await mkdir(join(dist, "assets"), { recursive: true });
await cp(join(root, "index.html"), join(dist, "index.html"));
await cp(join(root, "public"), join(dist, "assets"), { recursive: true });

if (watch) {
  const ctx = await context(options);
  await ctx.watch();
  console.log("watching src/ for changes");
} else {
  await build(options);
}
