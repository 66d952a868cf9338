;; WebAssembly relaxed-SIMD micro-kernel and macro-kernel of convprop's float32 GEMM: the same
;; contract as kernels/gemm_simd.wat (read that file first), with fused multiply-add.
;;
;; Assembled by `deno task build:wasm` (scripts/build/wasm.ts) into kernels/fast/gemm_simd_fma_wasm.ts.
;; kernels/fast/gemm_simd.ts uses this module where the runtime accepts relaxed SIMD (Deno, Chrome
;; 114+, Node 22+), and gemm_simd.wat elsewhere (Node 20's V8 11.3 rejects f32x4.relaxed_madd
;; unless a flag is given): validating the module is the feature test.
;;
;;   C[mc, nc] = alpha * Ap[mc, kc] * Bp[kc, nc] + beta * C[mc, nc]      (beta = 0: C is not read)
;;
;; with Ap in micro-panels of 5 rows (kc steps of 5 floats, 20 bytes per step) and Bp exactly as
;; in gemm_simd.wat (8 floats per k step, $bstep bytes apart; micro-panels $bpanel bytes apart).
;; mc is a multiple of 5 and nc of 8.
;;
;; f32x4.relaxed_madd(a, b, c) is a*b + c rounded once (a fused multiply-add, one vfmadd where the
;; CPU has FMA, as every x86-64 since 2013 and every ARMv8 does) or twice (mul then add, where it
;; has not): "relaxed" means the runtime may choose. Either way the error stays within the usual
;; k*eps bound of a float32 dot product, and the same machine always gives the same bits; two
;; machines may differ in the last bits.
;;
;; Why 5x8. One FMA replaces a mul and an add, so a k step issues half the arithmetic
;; instructions, but each accumulator now waits for its own previous FMA (4 cycles of latency on
;; current x86 cores, two FMA pipes): 8 or more independent accumulators are needed to keep both
;; pipes busy, where the 3x8 tile of gemm_simd.wat has 6. 5x8 has 10 accumulators, 2 vectors of
;; B and 1 broadcast value of A: 13 of the 15 xmm registers V8 hands out, no spills. Median
;; GFLOP/s on this machine (AMD EPYC, Deno 2.9), interleaved with gemm_simd.wat's 3x8 in one
;; process, 512^3 / the conv shapes [20,25]x[25,576] and [64,576]x[576,1024]:
;;   3x8 mul+add (gemm_simd.wat): 42 / 32 / 39       3x8 FMA: 38 / 34 / 35
;;   4x8 FMA: 47 / 36 / 44     5x8 FMA: 51 / 41 / 47     6x8 FMA: 53 / 36 / 48
;; 6x8 is as fast on large m but pads m = 20 to 24 rows; 5 divides the layer widths 20 and 50.

(module
  ;; The one linear memory, grown by the driver when a block needs more room (never shrunk).
  (memory (export "memory") 1)

  ;; micro-kernel: one 5x8 tile of C. Arguments as gemm_simd.wat's $tile; A steps are 20 bytes.
  (func $tile (param $a i32) (param $b i32) (param $bstep i32) (param $kc i32) (param $c i32)
    (param $ldc i32) (param $alpha f32) (param $beta f32)
    ;; accumulators c<row><half>: row 0..4 of the tile, columns 0-3 (half 0) or 4-7 (half 1),
    ;; zero-initialised by WebAssembly.
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $c40 v128) (local $c41 v128)
    (local $b0 v128) (local $b1 v128) (local $ai v128)  ;; B columns 0-3, 4-7; A[i] broadcast
    (local $end i32) (local $va v128) (local $vb v128)

    (local.set $end (i32.add (local.get $a) (i32.mul (local.get $kc) (i32.const 20))))
    ;; k loop: one rank-1 update of the tile per step (kc >= 1): c += A[i] * B row, fused.
    (loop $steps
      (local.set $b0 (v128.load (local.get $b)))
      (local.set $b1 (v128.load offset=16 (local.get $b)))
      (local.set $ai (v128.load32_splat (local.get $a)))
      (local.set $c00 (f32x4.relaxed_madd (local.get $ai) (local.get $b0) (local.get $c00)))
      (local.set $c01 (f32x4.relaxed_madd (local.get $ai) (local.get $b1) (local.get $c01)))
      (local.set $ai (v128.load32_splat offset=4 (local.get $a)))
      (local.set $c10 (f32x4.relaxed_madd (local.get $ai) (local.get $b0) (local.get $c10)))
      (local.set $c11 (f32x4.relaxed_madd (local.get $ai) (local.get $b1) (local.get $c11)))
      (local.set $ai (v128.load32_splat offset=8 (local.get $a)))
      (local.set $c20 (f32x4.relaxed_madd (local.get $ai) (local.get $b0) (local.get $c20)))
      (local.set $c21 (f32x4.relaxed_madd (local.get $ai) (local.get $b1) (local.get $c21)))
      (local.set $ai (v128.load32_splat offset=12 (local.get $a)))
      (local.set $c30 (f32x4.relaxed_madd (local.get $ai) (local.get $b0) (local.get $c30)))
      (local.set $c31 (f32x4.relaxed_madd (local.get $ai) (local.get $b1) (local.get $c31)))
      (local.set $ai (v128.load32_splat offset=16 (local.get $a)))
      (local.set $c40 (f32x4.relaxed_madd (local.get $ai) (local.get $b0) (local.get $c40)))
      (local.set $c41 (f32x4.relaxed_madd (local.get $ai) (local.get $b1) (local.get $c41)))
      (local.set $a (i32.add (local.get $a) (i32.const 20)))
      (local.set $b (i32.add (local.get $b) (local.get $bstep)))
      (br_if $steps (i32.lt_u (local.get $a) (local.get $end))))
    ;; Write the tile, as in gemm_simd.wat: C = alpha * acc (beta = 0: C is never read), else
    ;; C = alpha * acc + beta * C (beta = 1 for the second and later k blocks).
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
        (v128.store offset=16 (local.get $c) (f32x4.mul (local.get $va) (local.get $c21)))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (f32x4.mul (local.get $va) (local.get $c30)))
        (v128.store offset=16 (local.get $c) (f32x4.mul (local.get $va) (local.get $c31)))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (f32x4.mul (local.get $va) (local.get $c40)))
        (v128.store offset=16 (local.get $c) (f32x4.mul (local.get $va) (local.get $c41))))
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
          (f32x4.mul (local.get $vb) (v128.load offset=16 (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c30))
          (f32x4.mul (local.get $vb) (v128.load (local.get $c)))))
        (v128.store offset=16 (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c31))
          (f32x4.mul (local.get $vb) (v128.load offset=16 (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (local.get $ldc)))
        (v128.store (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c40))
          (f32x4.mul (local.get $vb) (v128.load (local.get $c)))))
        (v128.store offset=16 (local.get $c) (f32x4.add (f32x4.mul (local.get $va) (local.get $c41))
          (f32x4.mul (local.get $vb) (v128.load offset=16 (local.get $c))))))))

  ;; macro-kernel: every 5x8 tile of one cache block (shapes and layouts in the header).
  ;;   $mc, $nc, $kc: block size (mc % 5 = 0, nc % 8 = 0, kc >= 1); $pa: packed A;
  ;;   $pb, $bstep, $bpanel: B and its layout (header); $c: address of the C block;
  ;;   $ldc: C block row stride in floats.
  (func (export "block") (param $mc i32) (param $nc i32) (param $kc i32) (param $pa i32)
    (param $pb i32) (param $bstep i32) (param $bpanel i32) (param $c i32) (param $ldc i32)
    (param $alpha f32) (param $beta f32)
    (local $jr i32) (local $ir i32) (local $a i32) (local $b i32) (local $ldcb i32)
    (local $apanel i32)
    (local.set $ldcb (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $apanel (i32.mul (local.get $kc) (i32.const 20)))  ;; bytes per A micro-panel
    (local.set $b (local.get $pb))
    ;; jr outer (8 columns at a time): one B micro-panel (kc steps of 32 bytes: 16 KiB packed,
    ;; kc cache lines row-major, at kc = 512) stays in L1 while the loop below streams every A
    ;; micro-panel of the block past it from L2.
    (loop $cols
      (local.set $a (local.get $pa))
      (local.set $ir (i32.const 0))
      ;; ir inner (5 rows at a time): consecutive tiles of one 8-column strip of C.
      (loop $rows
        (call $tile (local.get $a) (local.get $b) (local.get $bstep) (local.get $kc)
          (i32.add (local.get $c)
            (i32.shl (i32.add (i32.mul (local.get $ir) (local.get $ldc)) (local.get $jr))
              (i32.const 2)))
          (local.get $ldcb) (local.get $alpha) (local.get $beta))
        (local.set $a (i32.add (local.get $a) (local.get $apanel)))
        (local.set $ir (i32.add (local.get $ir) (i32.const 5)))
        (br_if $rows (i32.lt_u (local.get $ir) (local.get $mc))))
      (local.set $b (i32.add (local.get $b) (local.get $bpanel)))
      (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
      (br_if $cols (i32.lt_u (local.get $jr) (local.get $nc))))))
