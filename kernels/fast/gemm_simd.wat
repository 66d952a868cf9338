;; WebAssembly SIMD micro-kernel and macro-kernel of convprop's float32 GEMM.
;;
;; Assembled by `deno task build:wasm` (scripts/build/wasm.ts) into kernels/fast/gemm_simd_wasm.ts,
;; which kernels/fast/gemm_simd.ts instantiates. Only plain SIMD128 instructions (f32x4.mul,
;; f32x4.add, v128.load, v128.load32_splat, v128.store): no relaxed SIMD (no fused multiply-add),
;; because Node 20 (V8 11.3) does not enable it by default. Keep this module under 4 KiB: browsers
;; refuse to compile larger modules synchronously on the main thread, and gemm is synchronous.
;;
;; The TypeScript driver (kernels/fast/gemm_simd.ts) owns the cache blocking and copies data in and out
;; of this module's single linear memory. This module only computes, on one cache block:
;;
;;   C[mc, nc] = alpha * Ap[mc, kc] * Bp[kc, nc] + beta * C[mc, nc]      (beta = 0: C is not read)
;;
;; where Ap holds mc/3 micro-panels of A, each kc steps of 3 floats (12 bytes per step), and Bp
;; holds nc/8 micro-panels of B: 8 floats per k step, $bstep bytes apart, micro-panels $bpanel
;; bytes apart. Two layouts of B fit that description, and the driver picks per call:
;;   packed      [nc/8, kc, 8]   bstep = 32,         bpanel = 32·kc   (B transposed or narrow)
;;   row-major   [kc, ldb]       bstep = 4·ldb,      bpanel = 32      (B's rows copied as they are)
;; mc is a multiple of 3 and nc of 8: the driver pads A and C to whole tiles, so there are no edge
;; cases here (padding columns of B may hold stale values; they only reach C's padding columns,
;; which are never copied out). All addresses are byte offsets into the memory.
;;
;; Why the tile is 3x8, one k step per loop iteration. V8 on x64 gives WebAssembly 16 xmm
;; registers (one kept as scratch). The tile needs 6 accumulators (3 rows x 2 vectors of 4
;; columns), 2 vectors of B, 1 broadcast value of A and 1 product: 10 registers, no spills, and
;; V8's instruction scheduler cannot push it into spilling. Median GFLOP/s of candidate tiles on
;; a cache-resident block, same machine (Deno 2.9 / V8 15; Node 20 / V8 11.3):
;;   3x8, 1 step: 42 / 48     4x8, 1 step: 37 / 48     4x8, 2 steps: 41 / 29
;;   5x8, 2 steps: 43 / 30    3x16: 26 / 26            6x8: 27 / -
;; (two steps per iteration let Node's V8 hoist the second step's loads, which then spill.)
;; Per k step the tile does 6 f32x4.mul + 6 f32x4.add (48 flops) for 2 vector loads and 3
;; broadcast loads. The ceiling for SIMD128 without fused multiply-add on a core with two
;; multiply and two add pipes is 4 floats x 4 operations = 16 flops per cycle (about 55 GFLOP/s
;; at 3.5 GHz); the 42-48 above are 75-85% of it.

(module
  ;; The one linear memory, grown by the driver when a block needs more room (never shrunk).
  (memory (export "memory") 1)

  ;; micro-kernel: one 3x8 tile of C.
  ;;   $a: packed A micro-panel [kc, 3]; $b: B micro-panel, kc steps of 8 floats $bstep bytes
  ;;   apart; $c: address of the tile's top-left corner in C; $ldc: C row stride in bytes.
  (func $tile (param $a i32) (param $b i32) (param $bstep i32) (param $kc i32) (param $c i32)
    (param $ldc i32) (param $alpha f32) (param $beta f32)
    ;; accumulators c<row><half>: row 0..2 of the tile, columns 0-3 (half 0) or 4-7 (half 1).
    ;; WebAssembly zero-initialises locals, so the sums start at 0.
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128)
    (local $b0 v128) (local $b1 v128) (local $ai v128)  ;; B columns 0-3, 4-7; A[i] broadcast
    (local $end i32) (local $va v128) (local $vb v128)

    (local.set $end (i32.add (local.get $a) (i32.mul (local.get $kc) (i32.const 12))))
    ;; k loop: one rank-1 update of the tile per step (kc >= 1); A is read sequentially, 12 bytes
    ;; per step, B 32 bytes per step at a fixed stride (sequential when packed).
    (loop $steps
      ;; B row p (8 floats), then A column p (3 floats, broadcast one at a time)
      (local.set $b0 (v128.load (local.get $b)))
      (local.set $b1 (v128.load offset=16 (local.get $b)))
      (local.set $ai (v128.load32_splat (local.get $a)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $ai) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $ai) (local.get $b1))))
      (local.set $ai (v128.load32_splat offset=4 (local.get $a)))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $ai) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $ai) (local.get $b1))))
      (local.set $ai (v128.load32_splat offset=8 (local.get $a)))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $ai) (local.get $b0))))
      (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $ai) (local.get $b1))))
      (local.set $a (i32.add (local.get $a) (i32.const 12)))
      (local.set $b (i32.add (local.get $b) (local.get $bstep)))
      (br_if $steps (i32.lt_u (local.get $a) (local.get $end))))

    ;; Write the tile: C = alpha * acc (beta = 0, C never read, so garbage or NaN in C is simply
    ;; overwritten), else C = alpha * acc + beta * C. The driver passes beta = 1 for the second and
    ;; later k blocks, where C holds the partial sum (1 * C is exact).
    (local.set $va (f32x4.splat (local.get $alpha)))
    (if (f32.eq (local.get $beta) (f32.const 0))
      (then
        (v128.store (local.get $c) (f32x4.mul (local.get $va) (local.get $c00)))
        (v128.store offset=16 (local.get $c) (f32x4.mul (local.get $va) (local.get $c01)))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (f32x4.mul (local.get $va) (local.get $c10)))
        (v128.store offset=16 (local.get $c) (f32x4.mul (local.get $va) (local.get $c11)))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (f32x4.mul (local.get $va) (local.get $c20)))
        (v128.store offset=16 (local.get $c) (f32x4.mul (local.get $va) (local.get $c21))))
      (else
        (local.set $vb (f32x4.splat (local.get $beta)))
        (v128.store (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c00))
          (f32x4.mul (local.get $vb) (v128.load (local.get $c)))))
        (v128.store offset=16 (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c01))
          (f32x4.mul (local.get $vb) (v128.load offset=16 (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c10))
          (f32x4.mul (local.get $vb) (v128.load (local.get $c)))))
        (v128.store offset=16 (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c11))
          (f32x4.mul (local.get $vb) (v128.load offset=16 (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c20))
          (f32x4.mul (local.get $vb) (v128.load (local.get $c)))))
        (v128.store offset=16 (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c21))
          (f32x4.mul (local.get $vb) (v128.load offset=16 (local.get $c))))))))

  ;; macro-kernel: every 3x8 tile of one cache block (shapes and layouts in the header).
  ;;   $mc, $nc, $kc: block size (mc % 3 = 0, nc % 8 = 0, kc >= 1); $pa: packed A;
  ;;   $pb, $bstep, $bpanel: B and its layout (header); $c: address of the C block;
  ;;   $ldc: C block row stride in floats.
  (func (export "block") (param $mc i32) (param $nc i32) (param $kc i32) (param $pa i32)
    (param $pb i32) (param $bstep i32) (param $bpanel i32) (param $c i32) (param $ldc i32)
    (param $alpha f32) (param $beta f32)
    (local $jr i32) (local $ir i32) (local $a i32) (local $b i32) (local $ldcb i32)
    (local $apanel i32)
    (local.set $ldcb (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $apanel (i32.mul (local.get $kc) (i32.const 12)))  ;; bytes per A micro-panel
    (local.set $b (local.get $pb))
    ;; jr outer (8 columns at a time): one B micro-panel (kc steps of 32 bytes: 16 KiB packed,
    ;; kc cache lines row-major, at kc = 512) stays in L1 while the loop below streams every A
    ;; micro-panel of the block past it from L2.
    (loop $cols
      (local.set $a (local.get $pa))
      (local.set $ir (i32.const 0))
      ;; ir inner (3 rows at a time): consecutive tiles of one 8-column strip of C.
      (loop $rows
        (call $tile (local.get $a) (local.get $b) (local.get $bstep) (local.get $kc)
          (i32.add (local.get $c)
            (i32.shl (i32.add (i32.mul (local.get $ir) (local.get $ldc)) (local.get $jr))
              (i32.const 2)))
          (local.get $ldcb) (local.get $alpha) (local.get $beta))
        (local.set $a (i32.add (local.get $a) (local.get $apanel)))
        (local.set $ir (i32.add (local.get $ir) (i32.const 3)))
        (br_if $rows (i32.lt_u (local.get $ir) (local.get $mc))))
      (local.set $b (i32.add (local.get $b) (local.get $bpanel)))
      (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
      (br_if $cols (i32.lt_u (local.get $jr) (local.get $nc))))))
