import assert from "node:assert/strict";
import { generateTagModule } from "../../tools/gen_tags.ts";

const specDir = new URL("../../../shared/fix-spec", import.meta.url).pathname;
const haveSpecs = (() => {
  try {
    return Deno.statSync(specDir).isDirectory;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "the tag generator reproduces the committed src/message/tag.ts byte for byte",
  // Shown as "ignored" rather than passed when the FIX XML is not checked out next to the repo.
  ignore: !haveSpecs,
  fn: async () => {
    const committed = await Deno.readTextFile(
      new URL("../../src/message/tag.ts", import.meta.url),
    );
    assert.equal(await generateTagModule(specDir), committed);
  },
});
