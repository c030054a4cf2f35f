'use strict';
/*
 * Index a Node.js v4 function app as the worker does: `node azure_index.js APP_ROOT`.
 * Loads package.json's `main` files with `@azure/functions-core` provided, and prints the
 * registered functions as one JSON line: {"functions": [{name, function: {bindings}}]}, or
 * {"error": ...} with exit code 1. Run in its own process, so user code never runs in the gateway.
 */

const { loadApp, bindingList } = require('./azure_core.js');

function main(root) {
  process.chdir(root);
  try {
    const functions = loadApp(root).map(({ metadata }) => ({
      name: metadata.name,
      function: { bindings: bindingList(metadata) },
    }));
    process.stdout.write(JSON.stringify({ functions }) + '\n');
    return 0;
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: String(error && error.message ? error.message : error) }) + '\n');
    return 1;
  }
}

process.exitCode = main(process.argv[2]);
