// A child Deno process for the crash tests: its stdout read line by line (waits guarded by a
// signal, no sleeps), its stderr kept for failure messages, and a SIGKILL that releases every
// resource so the test sanitizers stay quiet.

/** A running child script. */
export class ChildProcess {
  readonly #child: Deno.ChildProcess;
  readonly #reader: ReadableStreamDefaultReader<string>;
  readonly #stderr: Promise<string>;
  #pending: Promise<ReadableStreamReadResult<string>> | undefined;
  #partial = "";
  #lines: string[] = [];
  #ended = false;
  #released = false;

  /** Every line printed so far, consumed or not. */
  readonly printed: string[] = [];

  /**
   * Starts `deno run` on a script, with network access to 127.0.0.1 and file access.
   *
   * @param script The script's URL.
   * @param args Its arguments.
   */
  constructor(script: URL, args: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-read",
        "--allow-write",
        script.pathname,
        ...args,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stderr = new Response(this.#child.stderr).text();
  }

  /**
   * Resolves with the next printed line that matches; lines before it are skipped.
   *
   * @param match Which line.
   * @param options Abort signal (use `AbortSignal.timeout`).
   * @returns The line.
   * @throws The signal's reason when aborted; an error when the child's stdout ends first.
   */
  async line(
    match: (line: string) => boolean,
    { signal }: { signal: AbortSignal },
  ): Promise<string> {
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => {});
    while (true) {
      const line = this.#lines.shift();
      if (line !== undefined) {
        if (match(line)) return line;
        continue;
      }
      if (this.#ended) {
        // Stdout ended: the child is exiting; its stderr says why.
        const stderr = await Promise.race([
          this.#child.status.then(() => this.#stderr),
          aborted.catch(() => "(child still running)"),
        ]);
        throw new Error(
          `Child exited before the expected line; it printed ${
            JSON.stringify(this.printed)
          }, stderr: ${stderr}`,
        );
      }
      // One read in flight at a time, kept across calls so that no chunk is lost to an abort.
      this.#pending ??= this.#reader.read();
      const { value, done } = await Promise.race([this.#pending, aborted]);
      this.#pending = undefined;
      if (done) {
        this.#ended = true;
        continue;
      }
      const parts = (this.#partial + value).split("\n");
      this.#partial = parts.pop()!;
      this.#lines.push(...parts);
      this.printed.push(...parts);
    }
  }

  /** Kills the child with SIGKILL and releases its pipes. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.#child.status;
    await this.#release();
  }

  /**
   * Waits for the child to exit on its own.
   *
   * @param options Abort signal; on abort the child is killed and the wait rejects.
   * @returns Its exit code and stderr.
   */
  async exit({ signal }: { signal: AbortSignal }): Promise<{ code: number; stderr: string }> {
    const onAbort = () => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const status = await this.#child.status;
      await this.#release();
      if (signal.aborted) throw signal.reason;
      return { code: status.code, stderr: await this.#stderr };
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async #release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#reader.cancel();
    await this.#pending?.catch(() => {});
    await this.#stderr;
  }
}
