import assert from "node:assert/strict";
import { HAVE_SPECS, SPEC_DIR } from "../_spec_dir.ts";
import { generateTagModule } from "../../tools/gen_tags.ts";

Deno.test({
  name: "the tag generator reproduces the committed src/message/tag.ts byte for byte",
  // Shown as "ignored" rather than passed when the FIX XML is not checked out next to the repo.
  ignore: !HAVE_SPECS,
  fn: async () => {
    const committed = await Deno.readTextFile(
      new URL("../../src/message/tag.ts", import.meta.url),
    );
    assert.equal(await generateTagModule(SPEC_DIR), committed);
  },
});
