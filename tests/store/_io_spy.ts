// Wraps Deno's file APIs for a test: counts the bytes read from files whose path ends with a
// suffix (whichever API reads them), and the blocking and non-blocking syncs and writes made.
// Restored by `restore()`; tests in one file run one at a time, so nothing else sees it.

type Any = (...args: never[]) => unknown;

export interface IoSpy {
  /** Bytes read from matching files since the spy was made (or `reset`). */
  bytesRead(): number;
  /** Calls of `syncSync`/`syncDataSync` (block the event loop) and of `sync`/`syncData`. */
  syncs(): { blocking: number; async: number };
  /** `write` calls on matching files. */
  writes(): number;
  /** Makes the next `write` to a matching file write half its bytes, then throw. */
  failNextWrite(): void;
  reset(): void;
  restore(): void;
}

export function spyOnFiles(suffix: string): IoSpy {
  const d = Deno as unknown as Record<string, Any>;
  const proto = Deno.FsFile.prototype as unknown as Record<string, Any>;
  const saved = {
    open: d.open,
    openSync: d.openSync,
    readFile: d.readFile,
    readFileSync: d.readFileSync,
    read: proto.read,
    readSync: proto.readSync,
    write: proto.write,
    sync: proto.sync,
    syncData: proto.syncData,
    syncSync: proto.syncSync,
    syncDataSync: proto.syncDataSync,
  };
  const paths = new WeakMap<object, string>();
  const matches = (f: object) => paths.get(f)?.endsWith(suffix) ?? false;
  let bytes = 0, blocking = 0, nonBlocking = 0, writes = 0, failWrite = false;

  d.open = (async (path: string | URL, options?: Deno.OpenOptions) => {
    const f = await (saved.open as typeof Deno.open)(path, options);
    paths.set(f, String(path));
    return f;
  }) as Any;
  d.openSync = ((path: string | URL, options?: Deno.OpenOptions) => {
    const f = (saved.openSync as typeof Deno.openSync)(path, options);
    paths.set(f, String(path));
    return f;
  }) as Any;
  d.readFile = (async (path: string | URL, options?: Deno.ReadFileOptions) => {
    const b = await (saved.readFile as typeof Deno.readFile)(path, options);
    if (String(path).endsWith(suffix)) bytes += b.length;
    return b;
  }) as Any;
  d.readFileSync = ((path: string | URL) => {
    const b = (saved.readFileSync as typeof Deno.readFileSync)(path);
    if (String(path).endsWith(suffix)) bytes += b.length;
    return b;
  }) as Any;
  proto.read = async function (this: Deno.FsFile, p: Uint8Array) {
    const n = await (saved.read as Deno.FsFile["read"]).call(this, p);
    if (matches(this)) bytes += n ?? 0;
    return n;
  } as Any;
  proto.readSync = function (this: Deno.FsFile, p: Uint8Array) {
    const n = (saved.readSync as Deno.FsFile["readSync"]).call(this, p);
    if (matches(this)) bytes += n ?? 0;
    return n;
  } as Any;
  proto.write = async function (this: Deno.FsFile, p: Uint8Array) {
    const write = saved.write as Deno.FsFile["write"];
    if (matches(this)) {
      writes++;
      if (failWrite) {
        failWrite = false;
        let off = 0;
        const half = Math.floor(p.length / 2);
        while (off < half) off += await write.call(this, p.subarray(off, half));
        throw new Deno.errors.WriteZero("injected: the disk took half the batch");
      }
    }
    return await write.call(this, p);
  } as Any;
  for (const name of ["sync", "syncData"] as const) {
    proto[name] = function (this: Deno.FsFile) {
      nonBlocking++;
      return (saved[name] as () => Promise<void>).call(this);
    } as Any;
  }
  for (const name of ["syncSync", "syncDataSync"] as const) {
    proto[name] = function (this: Deno.FsFile) {
      blocking++;
      return (saved[name] as () => void).call(this);
    } as Any;
  }
  return {
    bytesRead: () => bytes,
    syncs: () => ({ blocking, async: nonBlocking }),
    writes: () => writes,
    failNextWrite: () => {
      failWrite = true;
    },
    reset: () => {
      bytes =
        blocking =
        nonBlocking =
        writes =
          0;
    },
    restore: () => {
      d.open = saved.open;
      d.openSync = saved.openSync;
      d.readFile = saved.readFile;
      d.readFileSync = saved.readFileSync;
      for (
        const name of [
          "read",
          "readSync",
          "write",
          "sync",
          "syncData",
          "syncSync",
          "syncDataSync",
        ] as const
      ) proto[name] = saved[name];
    },
  };
}
