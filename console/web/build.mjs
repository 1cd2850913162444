// Builds the console into ../dist: app.js and app.css bundled and minified
// by esbuild, index.html copied. The output depends only on the sources and
// the versions pinned in package-lock.json, so `make check-console` can
// rebuild it and compare with what is committed.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const out = new URL("../dist/", import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: true, legalComments: "none", logLevel: "warning", charset: "utf8" };
await build({ ...common, entryPoints: ["src/main.ts"], outfile: out + "app.js", format: "iife", target: "es2022" });
await build({ ...common, entryPoints: ["src/style.css"], outfile: out + "app.css" });
copyFileSync("src/index.html", out + "index.html");
