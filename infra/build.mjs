#!/usr/bin/env node
// `npm run build`: each runnable service and the CLI compiled to one ES module,
// services/<name>/dist/main.js, run with plain `node` (no tsx). esbuild bundles the workspace's
// own TypeScript (@bluelight/* and relative imports) and leaves every npm package external, so
// node_modules is used as installed (pino's worker transports, the ClickHouse and Kafka clients).
// Why esbuild and not `tsc -b`: docs/dependencies.md.
//   node infra/build.mjs                 every entry below
//   node infra/build.mjs ingest-gateway  the ones named
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What is built: the three long-running services and the CLI (its jobs: migrate, import, …). */
export const ENTRIES = {
  'ingest-gateway': 'services/ingest-gateway/src/main.ts',
  'clickhouse-sink': 'services/clickhouse-sink/src/main.ts',
  'query-api': 'services/query-api/src/main.ts',
  cli: 'services/cli/src/main.ts',
};

const outfileOf = (name) => path.join(root, 'services', name, 'dist', 'main.js');

/** Bare imports other than the workspace's own packages stay imports of node_modules. */
const npmPackagesExternal = {
  name: 'npm-packages-external',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@bluelight/') ? undefined : { path: args.path, external: true },
    );
  },
};

/**
 * A workspace module's `import.meta.url` is its own source file's URL, as when run from source:
 * the modules that find their data beside them (migrations, standards, mappings, examples) read
 * it where it stands in the repository, which an image carries beside dist/.
 */
function sourceUrls(outfile) {
  return {
    name: 'source-import-meta-url',
    setup(builder) {
      builder.onLoad({ filter: /\.ts$/ }, async (args) => {
        let contents = await readFile(args.path, 'utf8');
        if (contents.includes('import.meta.dirname')) {
          throw new Error(`${args.path}: use import.meta.url (rewritten when bundled)`);
        }
        if (contents.includes('import.meta.url')) {
          const relative = path
            .relative(path.dirname(outfile), args.path)
            .split(path.sep)
            .join('/');
          contents = contents.replaceAll(
            'import.meta.url',
            `new URL(${JSON.stringify(relative)}, import.meta.url).href`,
          );
        }
        return { contents, loader: 'ts' };
      });
    },
  };
}

/** Builds the named entries (every one by default); resolves to the files written. */
export async function buildServices(names = Object.keys(ENTRIES)) {
  const unknown = names.filter((name) => !(name in ENTRIES));
  if (unknown.length > 0) {
    throw new Error(
      `unknown entry ${unknown.join(', ')}; known: ${Object.keys(ENTRIES).join(', ')}`,
    );
  }
  const written = [];
  for (const name of names) {
    const outfile = outfileOf(name);
    await build({
      entryPoints: [path.join(root, ENTRIES[name])],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20.19',
      sourcemap: true,
      // Stack traces name the TypeScript files (the source map is beside the bundle).
      banner: { js: '// Built by infra/build.mjs from TypeScript; do not edit.' },
      plugins: [npmPackagesExternal, sourceUrls(outfile)],
      logLevel: 'warning',
    });
    written.push(path.relative(root, outfile));
  }
  return written;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const written = await buildServices(
    process.argv.slice(2).length ? process.argv.slice(2) : undefined,
  );
  console.log(`built ${written.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
