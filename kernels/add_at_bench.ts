// addAt as col2im for W2 (20×12×12 input, 5×5 kernel: 500×64 column entries per sample), with
// the table as an Int32Array (bounds checked only) and as a plain array (each index also checked
// for being an integer).

import { addAt } from "./add_at.ts";
import { im2colTable } from "./im2col.ts";
import { randomArray, rngFor } from "../tests/_random.ts";

const table = im2colTable({ channels: 20, height: 12, width: 12, kernel: [5, 5] });
const values = randomArray(rngFor(3), table.indices.length, Float32Array);
const target = new Float32Array(table.inputSize);
const plain = Array.from(table.indices);

Deno.bench("addAt Int32Array indices (W2 col2im)", { group: "addAt", baseline: true }, () => {
  addAt(target, table.indices, values);
});
Deno.bench("addAt plain-array indices (W2 col2im)", { group: "addAt" }, () => {
  addAt(target, plain, values);
});
