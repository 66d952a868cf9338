;; WebAssembly SIMD128 kernel of convprop's float32 depthwise convolution (groups = C, M filters
;; per channel), forward and backward, any stride, padding and dilation.
;;
;; Assembled by `deno task build:wasm` (scripts/build/wasm.ts) into
;; kernels/fast/depthwise_simd_wasm.ts, which kernels/fast/depthwise_simd.ts instantiates where the
;; runtime has SIMD128; elsewhere kernels/fast/depthwise.ts (TypeScript) runs.
;;
;; Why. Tap (i, j) of output (oh, ow) reads padded cell (oh·sh + i·dh, ow·sw + j·dw). Write the
;; zero-padded channel plane [Hp, Wp] as its sh·sw polyphase components (`split`): component
;; (r, s) holds the cells whose row is r mod sh and whose column is s mod sw, [Hph, Wph] with
;; Hph = ceil(Hp/sh), Wph = ceil(Wp/sw). With i·dh = qi·sh + ri and j·dw = qj·sw + rj, the cell
;; is component (ri, rj)'s [oh + qi, ow + qj]: every tap reads its component with stride 1. On
;; the output grid flattened with rows of Wph (q = oh·Wph + ow, Wo ≤ Wph), tap t reads
;; xph[q + off[t]] with one offset per tap, off[t] = (ri·sw + rj)·Sph + qi·Wph + qj (Sph: a
;; component's stride, Hph·Wph and slack). So a whole plane is one loop over q, 16 outputs per
;; step, with no test for rows or padding; the columns ow ≥ Wo of each row are scratch
;; (`compact` drops them from y; in the backward pass dY's are written as 0, `expand`).
;;
;;   forward:  y'[q]  = b + Σ_t w[t] · xph[q + off[t]]                (taps)
;;   backward: dw[t] += Σ_q dY'[q] · xph[q + off[t]]                  (dots)
;;             db    += Σ_q dY'[q]                                     (sum)
;;             dxph[q + off[t]] += Σ_m w[m, t] · dY'_m[q], computed per cell u = q + off[t]
;;             as a gather over the taps that reach u's phase          (gather, then merge)
;;
;; A step's loads and stores may run past a row or a plane by up to 15 floats (16 for the
;; phases): the driver leaves that slack after every region. All addresses are in bytes.
;;
;; The geometry block $g (int32 words), written by the driver:
;;   0 c  1 h  2 w  3 m  4 sh  5 sw  6 ph  7 pw  8 hph  9 wph  10 sph  11 k  12 ho  13 wo
;;   14 lr (the flattened outputs (ho − 1)·wph + wo, rounded up to 16)
;;   15 x  16 xph  17 wts [c·m, k]  18 bias [c·m]  19 off [k]  20 y' [lr]  21 y [c·m, ho, wo]
;;   22 dy [c·m, ho, wo]  23 dy' (filter 0's first cell)  24 dxph  25 dx [c, h, w]
;;   26 dw [c·m, k]  27 the gather's table  28 floats from one filter's dy' to the next
;;   29 zeros in front of each dy'  30 db [c·m] (0: no bias)
(module
  (memory (export "memory") 1)

  ;; byte address of the start of padded row hp's cells in its row phase (column phase 0)
  (func $phaseRow (param $g i32) (param $xp i32) (param $hp i32) (result i32)
    (i32.add (local.get $xp) (i32.shl (i32.add
      (i32.mul (i32.mul (i32.rem_u (local.get $hp) (i32.load offset=16 (local.get $g)))
        (i32.load offset=20 (local.get $g))) (i32.load offset=40 (local.get $g)))
      (i32.mul (i32.div_u (local.get $hp) (i32.load offset=16 (local.get $g)))
        (i32.load offset=36 (local.get $g)))) (i32.const 2))))

  ;; split: one channel plane $x [h, w] into the zero-padded phases $xph. $toPlane = 0 copies
  ;; the other way (merge: the plane from the phases' interior cells).
  (func $split (param $g i32) (param $x i32) (param $xph i32) (param $toPlane i32)
    (local $h i32) (local $w i32) (local $sw i32) (local $pw i32) (local $sph i32)
    (local $r i32) (local $row i32) (local $s i32) (local $d i32) (local $end i32)
    (local $pc i32) (local $c i32) (local $p i32)
    (local.set $h (i32.load offset=4 (local.get $g)))
    (local.set $w (i32.load offset=8 (local.get $g)))
    (local.set $sw (i32.load offset=20 (local.get $g)))
    (local.set $pw (i32.load offset=28 (local.get $g)))
    (local.set $sph (i32.shl (i32.load offset=40 (local.get $g)) (i32.const 2)))
    (if (local.get $toPlane)
      (then
        ;; every phase cell 0 (and the 16 floats of slack), then the data rows over it
        (memory.fill (local.get $xph) (i32.const 0) (i32.add (i32.mul (local.get $sph)
          (i32.mul (i32.load offset=16 (local.get $g)) (local.get $sw))) (i32.const 64)))))
    (local.set $s (local.get $x))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $r) (local.get $h)))
      (local.set $row (call $phaseRow (local.get $g) (local.get $xph)
        (i32.add (local.get $r) (i32.load offset=24 (local.get $g)))))
      (if (i32.eq (local.get $sw) (i32.const 1))
        (then
          ;; 4 floats at a time: the row's last store runs up to 3 floats past it
          (local.set $d (i32.add (local.get $row) (i32.shl (local.get $pw) (i32.const 2))))
          (local.set $p (local.get $s))
          (local.set $end (i32.add (local.get $s) (i32.shl (local.get $w) (i32.const 2))))
          (if (local.get $toPlane)
            (then
              (loop $cells
                (v128.store (local.get $d) (v128.load (local.get $p)))
                (local.set $p (i32.add (local.get $p) (i32.const 16)))
                (local.set $d (i32.add (local.get $d) (i32.const 16)))
                (br_if $cells (i32.lt_u (local.get $p) (local.get $end))))
              ;; those cells back to 0 (the right padding; the next row in memory, or the
              ;; phase's slack, is written after this one)
              (v128.store (i32.add (local.get $row) (i32.shl (i32.add (local.get $pw)
                (local.get $w)) (i32.const 2))) (v128.const i32x4 0 0 0 0)))
            (else
              ;; the plane's next row (or its slack) is written after this one
              (loop $cellsBack
                (v128.store (local.get $p) (v128.load (local.get $d)))
                (local.set $p (i32.add (local.get $p) (i32.const 16)))
                (local.set $d (i32.add (local.get $d) (i32.const 16)))
                (br_if $cellsBack (i32.lt_u (local.get $p) (local.get $end)))))))
        (else (if (i32.eq (local.get $sw) (i32.const 2))
          (then
            ;; stride 2: 8 columns per step, the even ones to column phase pw mod 2 from column
            ;; pw >> 1, the odd ones to the other phase from (pw + 1) >> 1; a phase row's last
            ;; store runs up to 4 floats past its data (so does the plane's, 7 floats)
            (local.set $d (i32.add (i32.add (local.get $row) (i32.mul (i32.and (local.get $pw)
              (i32.const 1)) (local.get $sph))) (i32.shl (i32.shr_u (local.get $pw)
              (i32.const 1)) (i32.const 2))))
            (local.set $c (i32.add (i32.add (local.get $row) (i32.mul (i32.sub (i32.const 1)
              (i32.and (local.get $pw) (i32.const 1))) (local.get $sph))) (i32.shl (i32.shr_u
              (i32.add (local.get $pw) (i32.const 1)) (i32.const 1)) (i32.const 2))))
            (local.set $p (local.get $s))
            (local.set $end (i32.add (local.get $s) (i32.shl (local.get $w) (i32.const 2))))
            (if (local.get $toPlane)
              (then
                (loop $pairs
                  (v128.store (local.get $d) (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25
                    26 27 (v128.load (local.get $p)) (v128.load offset=16 (local.get $p))))
                  (v128.store (local.get $c) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28
                    29 30 31 (v128.load (local.get $p)) (v128.load offset=16 (local.get $p))))
                  (local.set $p (i32.add (local.get $p) (i32.const 32)))
                  (local.set $d (i32.add (local.get $d) (i32.const 16)))
                  (local.set $c (i32.add (local.get $c) (i32.const 16)))
                  (br_if $pairs (i32.lt_u (local.get $p) (local.get $end))))
                ;; the cells past each phase row's data back to 0: ceil(w/2) even columns and
                ;; floor(w/2) odd ones from where they started
                (v128.store (i32.sub (local.get $d) (i32.shl (i32.sub (i32.shl (i32.shr_u
                  (i32.add (local.get $w) (i32.const 7)) (i32.const 3)) (i32.const 2))
                  (i32.shr_u (i32.add (local.get $w) (i32.const 1)) (i32.const 1)))
                  (i32.const 2))) (v128.const i32x4 0 0 0 0))
                (v128.store (i32.sub (local.get $c) (i32.shl (i32.sub (i32.shl (i32.shr_u
                  (i32.add (local.get $w) (i32.const 7)) (i32.const 3)) (i32.const 2))
                  (i32.shr_u (local.get $w) (i32.const 1))) (i32.const 2)))
                  (v128.const i32x4 0 0 0 0)))
              (else
                (loop $pairsBack
                  (v128.store (local.get $p) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21
                    22 23 (v128.load (local.get $d)) (v128.load (local.get $c))))
                  (v128.store offset=16 (local.get $p) (i8x16.shuffle 8 9 10 11 24 25 26 27 12
                    13 14 15 28 29 30 31 (v128.load (local.get $d)) (v128.load (local.get $c))))
                  (local.set $p (i32.add (local.get $p) (i32.const 32)))
                  (local.set $d (i32.add (local.get $d) (i32.const 16)))
                  (local.set $c (i32.add (local.get $c) (i32.const 16)))
                  (br_if $pairsBack (i32.lt_u (local.get $p) (local.get $end)))))))
          (else
          ;; column phase pc holds columns c ≡ pc − pw (mod sw), from c0 on, one float each
          (local.set $pc (i32.const 0))
          (loop $phases
            (local.set $c (i32.rem_u (i32.sub (i32.add (local.get $pc) (i32.mul (local.get $sw)
              (local.get $pw))) (local.get $pw)) (local.get $sw)))
            (local.set $d (i32.add (i32.add (local.get $row) (i32.mul (local.get $pc)
              (local.get $sph))) (i32.shl (i32.div_u (i32.add (local.get $c) (local.get $pw))
              (local.get $sw)) (i32.const 2))))
            (block $phaseDone (loop $cols
              (br_if $phaseDone (i32.ge_u (local.get $c) (local.get $w)))
              (if (local.get $toPlane)
                (then (f32.store (local.get $d)
                  (f32.load (i32.add (local.get $s) (i32.shl (local.get $c) (i32.const 2))))))
                (else (f32.store (i32.add (local.get $s) (i32.shl (local.get $c) (i32.const 2)))
                  (f32.load (local.get $d)))))
              (local.set $d (i32.add (local.get $d) (i32.const 4)))
              (local.set $c (i32.add (local.get $c) (local.get $sw)))
              (br $cols)))
            (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
            (br_if $phases (i32.lt_u (local.get $pc) (local.get $sw))))))))
      (local.set $s (i32.add (local.get $s) (i32.shl (local.get $w) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows))))

  ;; taps: y'[q .. q + 16) = bias + Σ_t w[t] · xph[q + off[t] ..], q = 0, 16, .. < lr
  (func $taps (param $g i32) (param $wts i32) (param $bias f32)
    (local $p i32) (local $q i32) (local $end i32) (local $t i32) (local $tend i32) (local $o i32)
    (local $offs i32)
    (local $wv v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $offs (i32.load offset=76 (local.get $g)))
    (local.set $q (i32.load offset=80 (local.get $g)))
    (local.set $end (i32.add (local.get $q) (i32.shl (i32.load offset=56 (local.get $g))
      (i32.const 2))))
    (local.set $tend (i32.shl (i32.load offset=44 (local.get $g)) (i32.const 2)))
    (local.set $p (i32.load offset=64 (local.get $g)))
    (loop $steps
      (local.set $a0 (f32x4.splat (local.get $bias)))
      (local.set $a1 (local.get $a0))
      (local.set $a2 (local.get $a0))
      (local.set $a3 (local.get $a0))
      (local.set $t (i32.const 0))
      (loop $each
        (local.set $wv (v128.load32_splat (i32.add (local.get $wts) (local.get $t))))
        (local.set $o (i32.add (local.get $p) (i32.load (i32.add (local.get $offs)
          (local.get $t)))))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $wv)
          (v128.load (local.get $o)))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $wv)
          (v128.load offset=16 (local.get $o)))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $wv)
          (v128.load offset=32 (local.get $o)))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $wv)
          (v128.load offset=48 (local.get $o)))))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (br_if $each (i32.lt_u (local.get $t) (local.get $tend))))
      (v128.store (local.get $q) (local.get $a0))
      (v128.store offset=16 (local.get $q) (local.get $a1))
      (v128.store offset=32 (local.get $q) (local.get $a2))
      (v128.store offset=48 (local.get $q) (local.get $a3))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (local.set $q (i32.add (local.get $q) (i32.const 64)))
      (br_if $steps (i32.lt_u (local.get $q) (local.get $end)))))

  ;; rows: plane [ho, wo] at $plane and the flattened [ho, wph] at $flat, 4 floats at a time;
  ;; $toFlat = 1 (expand): $flat = the plane with zeros in the scratch columns and past the
  ;; last row; 0 (compact): the plane = $flat's first wo columns. A row's last store runs up to
  ;; 3 floats past it, into the next row's place (written after it) or the region's slack.
  (func $rows (param $g i32) (param $plane i32) (param $flat i32) (param $toFlat i32)
    (local $r i32) (local $ho i32) (local $wo4 i32) (local $wph4 i32) (local $p i32)
    (local $f i32) (local $end i32)
    (local.set $ho (i32.load offset=48 (local.get $g)))
    (local.set $wo4 (i32.shl (i32.load offset=52 (local.get $g)) (i32.const 2)))
    (local.set $wph4 (i32.shl (i32.load offset=36 (local.get $g)) (i32.const 2)))
    ;; (expand: the whole plane, from the zeros in front of it, word 29 floats, word 28 in all)
    (if (local.get $toFlat)
      (then (memory.fill (i32.sub (local.get $flat) (i32.shl (i32.load offset=116
        (local.get $g)) (i32.const 2))) (i32.const 0) (i32.shl (i32.load offset=112
        (local.get $g)) (i32.const 2)))))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $r) (local.get $ho)))
      (local.set $p (i32.add (local.get $plane) (i32.mul (local.get $r) (local.get $wo4))))
      (local.set $f (i32.add (local.get $flat) (i32.mul (local.get $r) (local.get $wph4))))
      (local.set $end (i32.add (local.get $p) (local.get $wo4)))
      (if (local.get $toFlat)
        (then
          (loop $cells
            (v128.store (local.get $f) (v128.load (local.get $p)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $f (i32.add (local.get $f) (i32.const 16)))
            (br_if $cells (i32.lt_u (local.get $p) (local.get $end))))
          ;; the cells past the row back to 0
          (v128.store (i32.add (i32.add (local.get $flat) (i32.mul (local.get $r)
            (local.get $wph4))) (local.get $wo4)) (v128.const i32x4 0 0 0 0)))
        (else
          (loop $cellsBack
            (v128.store (local.get $p) (v128.load (local.get $f)))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $f (i32.add (local.get $f) (i32.const 16)))
            (br_if $cellsBack (i32.lt_u (local.get $p) (local.get $end))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $each))))

  ;; forward: one sample, y [c·m, ho, wo] from x [c, h, w]
  (func (export "forward") (param $g i32)
    (local $ch i32) (local $d i32) (local $dEnd i32) (local $m i32) (local $k4 i32)
    (local.set $m (i32.load offset=12 (local.get $g)))
    (local.set $k4 (i32.shl (i32.load offset=44 (local.get $g)) (i32.const 2)))
    (loop $chans
      (call $split (local.get $g) (i32.add (i32.load offset=60 (local.get $g))
        (i32.shl (i32.mul (local.get $ch) (i32.mul (i32.load offset=4 (local.get $g))
          (i32.load offset=8 (local.get $g)))) (i32.const 2)))
        (i32.load offset=64 (local.get $g)) (i32.const 1))
      (local.set $dEnd (i32.add (local.get $d) (local.get $m)))
      (loop $filters
        (call $taps (local.get $g)
          (i32.add (i32.load offset=68 (local.get $g)) (i32.mul (local.get $d) (local.get $k4)))
          (f32.load (i32.add (i32.load offset=72 (local.get $g))
            (i32.shl (local.get $d) (i32.const 2)))))
        (call $rows (local.get $g)
          (i32.add (i32.load offset=84 (local.get $g)) (i32.shl (i32.mul (local.get $d)
            (i32.mul (i32.load offset=48 (local.get $g)) (i32.load offset=52 (local.get $g))))
            (i32.const 2)))
          (i32.load offset=80 (local.get $g)) (i32.const 0))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br_if $filters (i32.lt_u (local.get $d) (local.get $dEnd))))
      (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
      (br_if $chans (i32.lt_u (local.get $ch) (i32.load (local.get $g))))))

  ;; dots: dw[t] += Σ_q dY'[q] · xph[q + off[t]], t < k, for one filter's dY' at $dyp
  (func $dots (param $g i32) (param $dyp i32) (param $dw i32)
    (local $t i32) (local $tend i32) (local $q i32) (local $end i32) (local $o i32)
    (local $e v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $tend (i32.shl (i32.load offset=44 (local.get $g)) (i32.const 2)))
    (loop $each
      (local.set $o (i32.add (i32.load offset=64 (local.get $g)) (i32.load
        (i32.add (i32.load offset=76 (local.get $g)) (local.get $t)))))
      (local.set $q (local.get $dyp))
      (local.set $end (i32.add (local.get $dyp) (i32.shl (i32.load offset=56 (local.get $g))
        (i32.const 2))))
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (local.get $a0))
      (local.set $a2 (local.get $a0))
      (local.set $a3 (local.get $a0))
      (loop $steps
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load (local.get $q))
          (v128.load (local.get $o)))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (local.get $q))
          (v128.load offset=16 (local.get $o)))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (local.get $q))
          (v128.load offset=32 (local.get $o)))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (local.get $q))
          (v128.load offset=48 (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 64)))
        (local.set $q (i32.add (local.get $q) (i32.const 64)))
        (br_if $steps (i32.lt_u (local.get $q) (local.get $end))))
      (local.set $e (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
        (f32x4.add (local.get $a2) (local.get $a3))))
      (f32.store (i32.add (local.get $dw) (local.get $t))
        (f32.add (f32.load (i32.add (local.get $dw) (local.get $t)))
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $e)) (f32x4.extract_lane 1
            (local.get $e))) (f32.add (f32x4.extract_lane 2 (local.get $e))
            (f32x4.extract_lane 3 (local.get $e))))))
      (local.set $t (i32.add (local.get $t) (i32.const 4)))
      (br_if $each (i32.lt_u (local.get $t) (local.get $tend)))))

  ;; gather: every cell u of every phase of dxph = Σ_t (Σ_m w[m, t] · dY'_m[u − o[t]]) over the
  ;; taps t that read the phase, o[t] = qi·Wph + qj (the scatter dxph[q + off[t]] += .. read
  ;; backwards: u = q + o[t]; a u − o[t] that wraps to the row before lands in its zero
  ;; scratch columns, one before the plane in the zeros in front of it). 16 cells per step,
  ;; the taps' sums kept in registers; the channel's m filters' weights at $wts, their dY' planes
  ;; from word 23, word 28 floats apart. The table at word 27: int32 start[sh·sw + 1], then
  ;; (weight byte offset 4t, byte offset 4·o[t]) per tap, phase by phase.
  (func $gather (param $g i32) (param $wts i32)
    (local $ph i32) (local $nph i32) (local $tab i32) (local $e i32) (local $eEnd i32)
    (local $eBeg i32) (local $dst i32) (local $u i32) (local $uEnd i32) (local $src i32) (local $wt i32)
    (local $mm i32) (local $m i32) (local $k4 i32) (local $stride i32) (local $dyp i32)
    (local $wv v128) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $m (i32.load offset=12 (local.get $g)))
    (local.set $k4 (i32.shl (i32.load offset=44 (local.get $g)) (i32.const 2)))
    (local.set $stride (i32.shl (i32.load offset=112 (local.get $g)) (i32.const 2)))
    (local.set $nph (i32.mul (i32.load offset=16 (local.get $g)) (i32.load offset=20
      (local.get $g))))
    (local.set $tab (i32.load offset=108 (local.get $g)))
    (local.set $dst (i32.load offset=96 (local.get $g)))
    (loop $phases
      (local.set $eBeg (i32.add (i32.add (local.get $tab) (i32.shl (i32.add (local.get $nph)
        (i32.const 1)) (i32.const 2))) (i32.shl (i32.load (i32.add (local.get $tab)
        (i32.shl (local.get $ph) (i32.const 2)))) (i32.const 3))))
      (local.set $eEnd (i32.add (i32.add (local.get $tab) (i32.shl (i32.add (local.get $nph)
        (i32.const 1)) (i32.const 2))) (i32.shl (i32.load offset=4 (i32.add (local.get $tab)
        (i32.shl (local.get $ph) (i32.const 2)))) (i32.const 3))))
      (local.set $u (local.get $dst))
      (local.set $uEnd (i32.add (local.get $dst) (i32.shl (i32.mul (i32.load offset=32
        (local.get $g)) (i32.load offset=36 (local.get $g))) (i32.const 2))))
      ;; $dyp: dY'_0 at the position of cell u (its taps subtract their o[t])
      (local.set $dyp (i32.load offset=92 (local.get $g)))
      (loop $steps
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (local.get $a0))
        (local.set $a2 (local.get $a0))
        (local.set $a3 (local.get $a0))
        (local.set $e (local.get $eBeg))
        (block $tapsDone (loop $taps
          (br_if $tapsDone (i32.ge_u (local.get $e) (local.get $eEnd)))
          (local.set $wt (i32.add (local.get $wts) (i32.load (local.get $e))))
          (local.set $src (i32.sub (local.get $dyp) (i32.load offset=4 (local.get $e))))
          ;; filter 0, then filters 1 .. m − 1 added in order
          (local.set $wv (v128.load32_splat (local.get $wt)))
          (local.set $s0 (f32x4.mul (local.get $wv) (v128.load (local.get $src))))
          (local.set $s1 (f32x4.mul (local.get $wv) (v128.load offset=16 (local.get $src))))
          (local.set $s2 (f32x4.mul (local.get $wv) (v128.load offset=32 (local.get $src))))
          (local.set $s3 (f32x4.mul (local.get $wv) (v128.load offset=48 (local.get $src))))
          (local.set $mm (i32.const 1))
          (block $filtersDone (loop $filters
            (br_if $filtersDone (i32.ge_u (local.get $mm) (local.get $m)))
            (local.set $wt (i32.add (local.get $wt) (local.get $k4)))
            (local.set $src (i32.add (local.get $src) (local.get $stride)))
            (local.set $wv (v128.load32_splat (local.get $wt)))
            (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $wv)
              (v128.load (local.get $src)))))
            (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $wv)
              (v128.load offset=16 (local.get $src)))))
            (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $wv)
              (v128.load offset=32 (local.get $src)))))
            (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $wv)
              (v128.load offset=48 (local.get $src)))))
            (local.set $mm (i32.add (local.get $mm) (i32.const 1)))
            (br $filters)))
          (local.set $a0 (f32x4.add (local.get $a0) (local.get $s0)))
          (local.set $a1 (f32x4.add (local.get $a1) (local.get $s1)))
          (local.set $a2 (f32x4.add (local.get $a2) (local.get $s2)))
          (local.set $a3 (f32x4.add (local.get $a3) (local.get $s3)))
          (local.set $e (i32.add (local.get $e) (i32.const 8)))
          (br $taps)))
        (v128.store (local.get $u) (local.get $a0))
        (v128.store offset=16 (local.get $u) (local.get $a1))
        (v128.store offset=32 (local.get $u) (local.get $a2))
        (v128.store offset=48 (local.get $u) (local.get $a3))
        (local.set $u (i32.add (local.get $u) (i32.const 64)))
        (local.set $dyp (i32.add (local.get $dyp) (i32.const 64)))
        (br_if $steps (i32.lt_u (local.get $u) (local.get $uEnd))))
      (local.set $dst (i32.add (local.get $dst) (i32.shl (i32.load offset=40 (local.get $g))
        (i32.const 2))))
      (local.set $ph (i32.add (local.get $ph) (i32.const 1)))
      (br_if $phases (i32.lt_u (local.get $ph) (local.get $nph)))))

  ;; sum: db[d] += Σ_q dY'[q], q < lr, for one filter's dY' at $dyp and its db at $db
  (func $sum (param $g i32) (param $dyp i32) (param $db i32)
    (local $end i32) (local $a0 v128) (local $a1 v128)
    (local.set $end (i32.add (local.get $dyp) (i32.shl (i32.load offset=56 (local.get $g))
      (i32.const 2))))
    (loop $steps
      (local.set $a0 (f32x4.add (local.get $a0) (f32x4.add (v128.load (local.get $dyp))
        (v128.load offset=16 (local.get $dyp)))))
      (local.set $a1 (f32x4.add (local.get $a1) (f32x4.add (v128.load offset=32
        (local.get $dyp)) (v128.load offset=48 (local.get $dyp)))))
      (local.set $dyp (i32.add (local.get $dyp) (i32.const 64)))
      (br_if $steps (i32.lt_u (local.get $dyp) (local.get $end))))
    (local.set $a0 (f32x4.add (local.get $a0) (local.get $a1)))
    (f32.store (local.get $db) (f32.add (f32.load (local.get $db)) (f32.add (f32.add
      (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
      (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3
      (local.get $a0)))))))

  ;; backward: one sample; dw [c·m, k] += this sample's, and dx [c, h, w] when $withDx
  (func (export "backward") (param $g i32) (param $withDx i32)
    (local $ch i32) (local $mm i32) (local $d i32) (local $m i32) (local $k4 i32) (local $hw4 i32)
    (local $p4 i32) (local $stride i32)
    (local.set $m (i32.load offset=12 (local.get $g)))
    (local.set $k4 (i32.shl (i32.load offset=44 (local.get $g)) (i32.const 2)))
    (local.set $hw4 (i32.shl (i32.mul (i32.load offset=4 (local.get $g))
      (i32.load offset=8 (local.get $g))) (i32.const 2)))
    (local.set $p4 (i32.shl (i32.mul (i32.load offset=48 (local.get $g))
      (i32.load offset=52 (local.get $g))) (i32.const 2)))
    (local.set $stride (i32.shl (i32.load offset=112 (local.get $g)) (i32.const 2)))
    (loop $chans
      (call $split (local.get $g) (i32.add (i32.load offset=60 (local.get $g))
        (i32.mul (local.get $ch) (local.get $hw4))) (i32.load offset=64 (local.get $g))
        (i32.const 1))
      ;; each filter's dY' and its taps' dw
      (local.set $mm (i32.const 0))
      (loop $filters
        (local.set $d (i32.add (i32.mul (local.get $ch) (local.get $m)) (local.get $mm)))
        (call $rows (local.get $g)
          (i32.add (i32.load offset=88 (local.get $g)) (i32.mul (local.get $d) (local.get $p4)))
          (i32.add (i32.load offset=92 (local.get $g)) (i32.mul (local.get $mm)
            (local.get $stride))) (i32.const 1))
        (call $dots (local.get $g)
          (i32.add (i32.load offset=92 (local.get $g)) (i32.mul (local.get $mm)
            (local.get $stride)))
          (i32.add (i32.load offset=104 (local.get $g)) (i32.mul (local.get $d) (local.get $k4))))
        (if (i32.load offset=120 (local.get $g))
          (then (call $sum (local.get $g) (i32.add (i32.load offset=92 (local.get $g))
            (i32.mul (local.get $mm) (local.get $stride))) (i32.add (i32.load offset=120
            (local.get $g)) (i32.shl (local.get $d) (i32.const 2))))))
        (local.set $mm (i32.add (local.get $mm) (i32.const 1)))
        (br_if $filters (i32.lt_u (local.get $mm) (local.get $m))))
      (if (local.get $withDx)
        (then
          (call $gather (local.get $g) (i32.add (i32.load offset=68 (local.get $g))
            (i32.mul (i32.mul (local.get $ch) (local.get $m)) (local.get $k4))))
          (call $split (local.get $g) (i32.add (i32.load offset=100 (local.get $g))
            (i32.mul (local.get $ch) (local.get $hw4))) (i32.load offset=96 (local.get $g))
            (i32.const 0))))
      (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
      (br_if $chans (i32.lt_u (local.get $ch) (i32.load (local.get $g))))))
)
