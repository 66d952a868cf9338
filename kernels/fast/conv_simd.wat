;; WebAssembly relaxed-SIMD kernel of convprop's float32 convolution with stride 1: the product
;; y = w_col · im2col(x) of kernels/gemm_simd_fma.wat, with op(B) = im2col(x) never built.
;;
;; Assembled by `deno task build:wasm` (scripts/build/wasm.ts) into kernels/fast/conv_simd_wasm.ts,
;; which kernels/fast/conv_simd.ts instantiates where the runtime accepts relaxed SIMD (Deno, Chrome
;; 114+, Node 22+); elsewhere layers/conv.ts keeps im2col + gemm.
;;
;; Why. With stride 1, the 8 columns of one B micro-panel of x_col (8 neighbouring output
;; positions of one output row) read, for every kernel tap k = (c, i, j), 8 consecutive cells of
;; the input: x[c, oh + i - ph, ow0 + j - pw .. + 8]. On a copy of the sample with its zero padding
;; written out, xpad [C, H + 2ph, W + 2pw], that is two v128 loads at xpad + off[k] + (oh·Wp + ow0),
;; where off[k] = (c·Hp + i)·Wp + j depends on the tap only: the fancy-index table's row k, as
;; one offset. So the micro-kernel of gemm_simd_fma.wat can read B straight from xpad through an
;; array of K offsets, and the gather and the copies of x_col (for W3, 2.4 MB per sample,
;; written, then copied into the GEMM's memory) disappear. The arithmetic is the same 5x8
;; fused multiply-add tile, in the same k order, so the result is bit-identical to im2col + gemm
;; with the same k blocks.
;;
;; Layout (the driver's; all addresses in bytes):
;;   A   packed w_col panels, as gemm_simd_fma.wat: 5 rows per panel, kc steps of 5 floats
;;   off int32 [K]: byte offset in xpad of tap k's first cell
;;   x   the sample [C, H, W], copied in by the driver; `pad` writes it into
;;   xp  xpad [C, Hp, Wp] (+ slack: a panel's loads run up to 7 floats past a row)
;;   C   [mc, ho, wo8]: wo8 = Wo rounded up to 8, so no micro-panel crosses an output row; the
;;       columns past Wo are scratch, dropped by `compact` before the driver copies y out
(module
  (memory (export "memory") 1)

  ;; pad: xp[c, h + ph, w + pw] = x[c, h, w]; every other cell of xp is 0. Rows of xp are wp
  ;; floats; a data row is copied 4 floats at a time (up to 3 past the row, overwritten by the
  ;; right padding written after it, or falling into the last row's slack).
  (func (export "pad") (param $x i32) (param $xp i32) (param $c i32) (param $h i32) (param $w i32)
    (param $ph i32) (param $pw i32)
    (local $hp i32) (local $wp i32) (local $end i32) (local $p i32) (local $s i32) (local $d i32)
    (local $ch i32) (local $row i32) (local $q i32)
    (local.set $hp (i32.add (local.get $h) (i32.shl (local.get $ph) (i32.const 1))))
    (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $pw) (i32.const 1))))
    ;; zero all of xp (with 8 floats of slack), then copy the rows in
    (memory.fill (local.get $xp) (i32.const 0)
      (i32.shl (i32.add (i32.mul (local.get $c) (i32.mul (local.get $hp) (local.get $wp)))
        (i32.const 8)) (i32.const 2)))
    (local.set $s (local.get $x))
    (local.set $ch (i32.const 0))
    (block $done
      (loop $chans
        (br_if $done (i32.ge_u (local.get $ch) (local.get $c)))
        (local.set $row (i32.const 0))
        (block $rowsdone
          (loop $rows
            (br_if $rowsdone (i32.ge_u (local.get $row) (local.get $h)))
            ;; d: first data cell of padded row (ch, row + ph)
            (local.set $d (i32.add (local.get $xp) (i32.shl
              (i32.add (i32.mul (i32.add (i32.mul (local.get $ch) (local.get $hp))
                (i32.add (local.get $row) (local.get $ph))) (local.get $wp)) (local.get $pw))
              (i32.const 2))))
            (local.set $end (i32.add (local.get $s) (i32.shl (local.get $w) (i32.const 2))))
            (local.set $p (local.get $s))
            (local.set $q (local.get $d))
            (loop $cells
              (v128.store (local.get $q) (v128.load (local.get $p)))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (local.set $q (i32.add (local.get $q) (i32.const 16)))
              (br_if $cells (i32.lt_u (local.get $p) (local.get $end))))
            ;; the right padding (and the cells the last store wrote past the row) back to 0:
            ;; pw + 3 floats, but not past the row's end plus the next row's left padding
            (memory.fill (i32.add (local.get $d) (i32.shl (local.get $w) (i32.const 2)))
              (i32.const 0) (i32.shl (i32.add (local.get $pw) (i32.const 3)) (i32.const 2)))
            (local.set $s (local.get $end))
            (local.set $row (i32.add (local.get $row) (i32.const 1)))
            (br $rows)))
        (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
        (br $chans))))

  ;; tile: C[5 rows, 8 columns] += Ap[5, kc] · B[kc, 8], where B row k is the 8 floats at
  ;; $xcol + off[k]. As gemm_simd_fma.wat's tile, with one more load per step (the offset).
  (func $tile (param $a i32) (param $xcol i32) (param $off i32) (param $kc i32) (param $c i32)
    (param $ldc i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $c40 v128) (local $c41 v128)
    (local $b0 v128) (local $b1 v128) (local $ai v128) (local $b i32) (local $end i32)
    (local.set $end (i32.add (local.get $a) (i32.mul (local.get $kc) (i32.const 20))))
    (loop $steps
      (local.set $b (i32.add (local.get $xcol) (i32.load (local.get $off))))
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
      (local.set $off (i32.add (local.get $off) (i32.const 4)))
      (br_if $steps (i32.lt_u (local.get $a) (local.get $end))))
    ;; C += acc, the driver having written the bias (or the earlier k blocks' sums) into C: the
    ;; same additions as gemm_simd_fma.wat's C = 1·acc + 1·C.
    (v128.store (local.get $c) (f32x4.add (local.get $c00) (v128.load (local.get $c))))
    (v128.store offset=16 (local.get $c) (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $c))))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (f32x4.add (local.get $c10) (v128.load (local.get $c))))
    (v128.store offset=16 (local.get $c) (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $c))))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (f32x4.add (local.get $c20) (v128.load (local.get $c))))
    (v128.store offset=16 (local.get $c) (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $c))))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (f32x4.add (local.get $c30) (v128.load (local.get $c))))
    (v128.store offset=16 (local.get $c) (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $c))))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (f32x4.add (local.get $c40) (v128.load (local.get $c))))
    (v128.store offset=16 (local.get $c) (f32x4.add (local.get $c41) (v128.load offset=16 (local.get $c)))))

  ;; conv: C[mc, ho, wo8] += Ap[mc, kc] · B, B = the kc taps at $off of every output position.
  ;;   $mc: rows (a multiple of 5); $ho, $wo8: output rows and padded width (wo8 % 8 = 0);
  ;;   $kc: taps in this k block; $pa: its A panels; $off: its kc offsets; $xp: xpad;
  ;;   $wpb: bytes per xpad row; $c: C; $ldc: bytes per C row (ho·wo8·4).
  (func (export "conv") (param $mc i32) (param $ho i32) (param $wo8 i32) (param $kc i32)
    (param $pa i32) (param $off i32) (param $xp i32) (param $wpb i32) (param $c i32)
    (param $ldc i32)
    (local $oh i32) (local $ow i32) (local $ir i32) (local $xcol i32) (local $cc i32)
    (local $a i32) (local $apanel i32) (local $crow i32)
    (local.set $apanel (i32.mul (local.get $kc) (i32.const 20)))
    ;; oh, ow: one micro-panel of 8 output positions (its B rows stay in L1 for every A panel)
    (loop $rows
      (local.set $ow (i32.const 0))
      (local.set $crow (i32.add (local.get $c)
        (i32.shl (i32.mul (local.get $oh) (local.get $wo8)) (i32.const 2))))
      (loop $cols
        (local.set $xcol (i32.add (i32.add (local.get $xp) (i32.mul (local.get $oh) (local.get $wpb)))
          (i32.shl (local.get $ow) (i32.const 2))))
        (local.set $cc (i32.add (local.get $crow) (i32.shl (local.get $ow) (i32.const 2))))
        (local.set $a (local.get $pa))
        (local.set $ir (i32.const 0))
        ;; ir: the A panels, 5 rows of C each
        (loop $panels
          (call $tile (local.get $a) (local.get $xcol) (local.get $off) (local.get $kc)
            (local.get $cc) (local.get $ldc))
          (local.set $a (i32.add (local.get $a) (local.get $apanel)))
          (local.set $cc (i32.add (local.get $cc) (i32.mul (local.get $ldc) (i32.const 5))))
          (local.set $ir (i32.add (local.get $ir) (i32.const 5)))
          (br_if $panels (i32.lt_u (local.get $ir) (local.get $mc))))
        (local.set $ow (i32.add (local.get $ow) (i32.const 8)))
        (br_if $cols (i32.lt_u (local.get $ow) (local.get $wo8))))
      (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $oh) (local.get $ho)))))

  ;; compact: the rows of C [rows, wo8] (padded to 8 columns) into [rows, wo], contiguous, so
  ;; the driver copies y out with one TypedArray.set instead of one per output row. 4 floats at
  ;; a time: a row's last store may run up to 3 floats into the next row's place, which that row
  ;; then overwrites (the last row's land in slack the driver leaves).
  (func (export "compact") (param $src i32) (param $dst i32) (param $rows i32) (param $wo i32)
    (param $wo8 i32)
    (local $r i32) (local $p i32) (local $q i32) (local $end i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $p (i32.add (local.get $src)
          (i32.shl (i32.mul (local.get $r) (local.get $wo8)) (i32.const 2))))
        (local.set $q (i32.add (local.get $dst)
          (i32.shl (i32.mul (local.get $r) (local.get $wo)) (i32.const 2))))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $wo) (i32.const 2))))
        (loop $cells
          (v128.store (local.get $q) (v128.load (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 16)))
          (br_if $cells (i32.lt_u (local.get $p) (local.get $end))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $each)))))
