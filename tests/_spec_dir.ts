// Where the FIX XML specifications are checked out (../shared/fix-spec, next to the repository),
// and whether they are: the generator tests are ignored without them.

/** The folder of the QuickFIX-format FIX XML specifications. */
export const SPEC_DIR: string = new URL("../../shared/fix-spec", import.meta.url).pathname;

/** Whether {@linkcode SPEC_DIR} exists. */
export const HAVE_SPECS: boolean = (() => {
  try {
    return Deno.statSync(SPEC_DIR).isDirectory;
  } catch {
    return false;
  }
})();
