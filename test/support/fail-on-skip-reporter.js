/**
 * A jest reporter that fails the run when CI=true and any test was skipped
 * or left as a todo: in CI every test must run.
 */
class FailOnSkipReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    if (process.env.CI === "true" && skipped > 0) {
      this.error = new Error(`${skipped} test(s) skipped under CI=true; every test must run in CI`);
      process.stderr.write(`\n${this.error.message}\n`);
    }
  }

  getLastError() {
    return this.error;
  }
}

module.exports = FailOnSkipReporter;
