/**
 * A jest reporter for CI: it ends the run with the plain closing line
 * `tests: N passed, N failed[, N skipped]`, and fails the run when CI=true and
 * any test was skipped or left as a todo: in CI every test must run.
 */
class CiReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
    // After jest's own summary, as the run's last line.
    process.on("exit", () => require("node:fs").writeSync(1, `\n${line}\n`));
    if (process.env.CI === "true" && skipped > 0) {
      this.error = new Error(`${skipped} test(s) skipped under CI=true; every test must run in CI`);
      process.stderr.write(`${this.error.message}\n`);
    }
  }

  getLastError() {
    return this.error;
  }
}

module.exports = CiReporter;
