// A forward and backward pass through a small CNN, printing every shape, then a finite-difference
// check of a few gradients in float64. Run: deno task demo
//
// On the readable path, to step through it with a debugger beside docs/ (open the printed URL in
// Chrome's chrome://inspect, or attach VS Code, and step into convForward):
//
//   deno run --inspect-brk scripts/demo.ts --backend reference

import {
  convBackward,
  convForward,
  fcBackward,
  fcForward,
  maxPoolBackward,
  maxPoolForward,
  mulberry32,
  normal,
  reluBackward,
  reluForward,
  setBackend,
  softmaxCrossEntropy,
  type Tensor,
} from "../mod.ts";

const at = Deno.args.indexOf("--backend");
const backend = at < 0 ? "fast" : Deno.args[at + 1];
if (backend !== "reference" && backend !== "fast") {
  console.error(`demo: --backend must be reference or fast, got ${JSON.stringify(backend)}`);
  Deno.exit(2);
}
setBackend(backend);

const rng = mulberry32(2026);
function randn(shape: number[], scale = 1): Tensor<Float64Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: n }, () => scale * normal(rng)) };
}
const fmt = (t: Tensor) => `[${t.shape.join(",")}]`;

// x [4,1,12,12] -> conv 3x3 pad 1 [4,6,12,12] -> relu -> pool 2 [4,6,6,6] -> fc [4,10] -> loss
const x = randn([4, 1, 12, 12]);
const w1 = randn([6, 1, 3, 3], Math.sqrt(2 / 9)), b1 = randn([6], 0.1);
const w2 = randn([10, 216], Math.sqrt(2 / 216)), b2 = randn([10], 0.1);
const labels = [3, 1, 4, 1];

function loss(): number {
  const c = convForward(x, w1, b1, { padding: 1 });
  const r = reluForward(c.y);
  const p = maxPoolForward(r.y, { size: 2 });
  const f = fcForward(p.y, w2, b2);
  return softmaxCrossEntropy(f.y, labels).loss;
}

const c = convForward(x, w1, b1, { padding: 1 });
const r = reluForward(c.y);
const p = maxPoolForward(r.y, { size: 2 });
const f = fcForward(p.y, w2, b2);
const ce = softmaxCrossEntropy(f.y, labels);
console.log(`forward (${backend} backend)`);
console.log(`  x ${fmt(x)}  --conv w ${fmt(w1)} pad 1-->  ${fmt(c.y)}`);
console.log(`  --relu-->  ${fmt(r.y)}  --maxpool 2x2-->  ${fmt(p.y)}`);
console.log(
  `  --fc w ${fmt(w2)}-->  logits ${fmt(f.y)}  --softmax CE-->  loss ${ce.loss.toFixed(6)}`,
);

const gf = fcBackward(ce.dlogits, f.cache);
const gp = maxPoolBackward(gf.dx, p.cache);
const gr = reluBackward(gp, r.cache);
const gc = convBackward(gr, c.cache);
console.log("backward");
console.log(
  `  dlogits ${fmt(ce.dlogits)} -> fc: dx ${fmt(gf.dx)} dw ${fmt(gf.dw)} db ${fmt(gf.db)}`,
);
console.log(`  -> maxpool: dx ${fmt(gp)} -> relu: dx ${fmt(gr)}`);
console.log(`  -> conv: dx ${fmt(gc.dx)} dw ${fmt(gc.dw)} db ${fmt(gc.db)}`);

// central differences: (L(θ+h) − L(θ−h)) / 2h has error O(h²) ≈ 1e-10 here
console.log("gradient check (central differences, h = 1e-5, float64)");
const h = 1e-5;
let worst = 0;
function check(name: string, param: Float64Array, grad: ArrayLike<number>, i: number): void {
  const old = param[i];
  param[i] = old + h;
  const lp = loss();
  param[i] = old - h;
  const lm = loss();
  param[i] = old;
  const numeric = (lp - lm) / (2 * h);
  const rel = Math.abs(numeric - grad[i]) / Math.max(1e-8, Math.abs(numeric) + Math.abs(grad[i]));
  worst = Math.max(worst, rel);
  console.log(
    `  ${name.padEnd(8)} analytic ${grad[i].toExponential(6).padStart(14)}  numeric ${
      numeric.toExponential(6).padStart(14)
    }  rel. error ${rel.toExponential(1)}`,
  );
}
for (const i of [0, 7, 40]) check(`w1[${i}]`, w1.data, gc.dw.data, i);
for (const i of [2, 5]) check(`b1[${i}]`, b1.data, gc.db.data, i);
for (const i of [0, 1000, 2159]) check(`w2[${i}]`, w2.data, gf.dw.data, i);
for (const i of [13, 100, 300]) check(`x[${i}]`, x.data, gc.dx.data, i);
console.log(
  `worst relative error ${worst.toExponential(1)} ${worst < 1e-6 ? "(ok)" : "(TOO LARGE)"}`,
);
if (!(worst < 1e-6)) Deno.exit(1);
