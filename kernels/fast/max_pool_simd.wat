;; WebAssembly SIMD kernel of convprop's float32 max pooling, 2×2 windows with stride 2.
;;
;; Assembled by `deno task build:wasm` (scripts/build/wasm.ts) into kernels/fast/max_pool_simd_wasm.ts,
;; which kernels/fast/max_pool_simd.ts instantiates. Plain SIMD128 only (no relaxed SIMD: Node 20 must
;; run it), and under 4 KiB so browsers compile it synchronously on the main thread.
;;
;; The driver copies a block of n one-channel images [n, h, w] (float32) into this module's memory
;; at $x, calls `pool2x2`, and copies the results out. For every window (img, oh, ow), reading
;; cells (2oh, 2ow), (2oh, 2ow+1), (2oh+1, 2ow), (2oh+1, 2ow+1) (taps r = 0..3, row-major), it
;; writes
;;   max[img, oh, ow]   = the first maximum of the 4 cells      float32 [n, ho, wo] at $max
;;   route[img, oh, ow] = $base + its flat index in the block   int32   [n, ho, wo] at $route
;; ho = floor(h / 2), wo = floor(w / 2): an odd last row or column is never read. "First maximum"
;; is the sequential rule of kernels/max_pool.ts: cell r replaces the maximum m so far when
;;   take(v, m) = !(v <= m) & (m == m)      (v > m, or v is NaN while m is not)
;; so ties go to the earliest tap, the first NaN wins, ±Infinity and -0 are exact (a cell's bits
;; are moved, never computed). $base is the block's offset in the caller's x, so route indexes x.
;; All addresses are byte offsets; no alignment is required.
;;
;; Four windows at a time. One group is 4 consecutive windows of an output row: 8 floats of the
;; top row and 8 of the bottom row, two v128 loads each. A shuffle splits a row into its even and
;; odd columns, which puts tap r of the 4 windows in the 4 lanes of v<r>. The rule is then applied
;; lane-wise with comparison masks (all ones where true) and bitselect, as a tree rather than a
;; chain: (v0, v1) and (v2, v3) independently, then the two winners. Same answer as the chain:
;; the left pair holds the earlier taps, so on a tie, or when both are NaN, the left one stays,
;; and a NaN on the right beats a left pair without NaN. Depth 2 instead of 3 dependent steps.
;; The route comes from the masks too: a mask lane is -1 where true, so idx - t adds 1 where the
;; odd column won.
;;
;; The end of a row. A row of wo windows takes ceil(wo / 4) groups; when wo is not a multiple of
;; 4, the last group reads up to 6 floats past the row (the next row, or the driver's slack) and
;; writes up to 3 results past it, into the next row's outputs. The rows are done in increasing
;; order, so the next row's first group overwrites those with its own; after the block's last row
;; they land in the slack the driver leaves (8 floats after x, 4 after each output). So no window
;; is left to scalar code (which would be longer, and slower for wo = 5..7), and a row costs the
;; same ceil(wo / 4) groups as with an overlapping last group, without its bookkeeping.

(module
  ;; The one linear memory, grown by the driver when a block needs more room (never shrunk).
  (memory (export "memory") 1)

  ;;   $x: n images [h, w] float32; $max, $route: outputs [n, h/2, w/2]; $base: route offset.
  (func (export "pool2x2") (param $x i32) (param $max i32) (param $route i32) (param $n i32)
    (param $h i32) (param $w i32) (param $base i32)
    (local $ho i32) (local $wo i32)    ;; output size
    (local $img i32) (local $oh i32) (local $ow i32)
    (local $row i32)   ;; index in the block of the current top row's first cell (img·h·w + 2oh·w)
    (local $p i32)     ;; byte address of a group's top-left cell
    (local $pm i32) (local $pr i32)  ;; byte addresses of a group's 4 maxima and 4 routes
    (local $wb i32)    ;; bytes per input row
    (local $lo v128) (local $hi v128)                        ;; 8 floats of one row
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)   ;; taps of 4 windows
    (local $t01 v128) (local $t23 v128) (local $t v128)      ;; take masks
    (local $m01 v128) (local $m23 v128)                      ;; maxima of the two pairs
    (local $idx v128)  ;; flat indices in the caller's x of the 4 windows' tap 0
    (local $vw v128)   ;; w in every lane: tap 2 is idx + w
    (local.set $ho (i32.shr_u (local.get $h) (i32.const 1)))
    (local.set $wo (i32.shr_u (local.get $w) (i32.const 1)))
    (if (i32.or (i32.eqz (local.get $n)) (i32.or (i32.eqz (local.get $ho)) (i32.eqz (local.get $wo))))
      (then (return)))
    (local.set $wb (i32.shl (local.get $w) (i32.const 2)))
    (local.set $vw (i32x4.splat (local.get $w)))
    ;; img: the images of the block one after the other (h·w floats apart, outputs contiguous).
    (loop $images
      (local.set $row (i32.mul (local.get $img) (i32.mul (local.get $h) (local.get $w))))
      (local.set $oh (i32.const 0))
      ;; oh: one output row per pair of input rows (2w floats apart).
      (loop $rows
        (local.set $p (i32.add (local.get $x) (i32.shl (local.get $row) (i32.const 2))))
        (local.set $pm (local.get $max))
        (local.set $pr (local.get $route))
        (local.set $idx (i32x4.add (i32x4.splat (i32.add (local.get $base) (local.get $row)))
          (v128.const i32x4 0 2 4 6)))
        (local.set $ow (i32.const 0))
        ;; ow: groups of 4 windows, the pointers moving on by 4 windows (8 input floats) each.
        (loop $groups
          ;; top row: tap 0 = even columns, tap 1 = odd columns; bottom row: taps 2 and 3
          (local.set $lo (v128.load (local.get $p)))
          (local.set $hi (v128.load offset=16 (local.get $p)))
          (local.set $v0 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (local.get $lo) (local.get $hi)))
          (local.set $v1 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (local.get $lo) (local.get $hi)))
          (local.set $lo (v128.load (i32.add (local.get $p) (local.get $wb))))
          (local.set $hi (v128.load offset=16 (i32.add (local.get $p) (local.get $wb))))
          (local.set $v2 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (local.get $lo) (local.get $hi)))
          (local.set $v3 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (local.get $lo) (local.get $hi)))
          ;; the two pairs: t = take(right, left) = (left == left) & ~(right <= left)
          (local.set $t01 (v128.andnot (f32x4.eq (local.get $v0) (local.get $v0))
            (f32x4.le (local.get $v1) (local.get $v0))))
          (local.set $t23 (v128.andnot (f32x4.eq (local.get $v2) (local.get $v2))
            (f32x4.le (local.get $v3) (local.get $v2))))
          (local.set $m01 (v128.bitselect (local.get $v1) (local.get $v0) (local.get $t01)))
          (local.set $m23 (v128.bitselect (local.get $v3) (local.get $v2) (local.get $t23)))
          ;; then the pairs' winners, by the same rule
          (local.set $t (v128.andnot (f32x4.eq (local.get $m01) (local.get $m01))
            (f32x4.le (local.get $m23) (local.get $m01))))
          (v128.store (local.get $pm)
            (v128.bitselect (local.get $m23) (local.get $m01) (local.get $t)))
          ;; routes: a mask lane is -1 where the right cell took over, so idx - t01 is tap 0 or
          ;; 1 of the top pair, idx + w - t23 tap 2 or 3 of the bottom pair
          (v128.store (local.get $pr)
            (v128.bitselect
              (i32x4.sub (i32x4.add (local.get $idx) (local.get $vw)) (local.get $t23))
              (i32x4.sub (local.get $idx) (local.get $t01))
              (local.get $t)))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (local.set $pm (i32.add (local.get $pm) (i32.const 16)))
          (local.set $pr (i32.add (local.get $pr) (i32.const 16)))
          (local.set $idx (i32x4.add (local.get $idx) (v128.const i32x4 8 8 8 8)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 4)))
          (br_if $groups (i32.lt_u (local.get $ow) (local.get $wo))))
        ;; next output row: outputs move on by wo, inputs by two rows
        (local.set $max (i32.add (local.get $max) (i32.shl (local.get $wo) (i32.const 2))))
        (local.set $route (i32.add (local.get $route) (i32.shl (local.get $wo) (i32.const 2))))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $w) (i32.const 1))))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br_if $rows (i32.lt_u (local.get $oh) (local.get $ho))))
      (local.set $img (i32.add (local.get $img) (i32.const 1)))
      (br_if $images (i32.lt_u (local.get $img) (local.get $n)))))
  ;; max2x2: the maxima only, for a forward pass that will have no backward (inference): the same
  ;; windows, groups and row ends as pool2x2, the same answers in max, and no route.
  ;;
  ;; Without the route, the maximum of a pair is one f32x4.pmax: pmax(a, b) = (a < b) ? b : a,
  ;; a single maxps on x64, which keeps the left (earlier) cell on a tie, -0 against +0
  ;; included, and keeps a NaN on the left. It misses one case of the rule, a NaN on the right
  ;; of a number: so a group in which tap 1, 2 or 3 holds a NaN (rare, and a predictable branch)
  ;; takes the exact rule of pool2x2 instead. The tree is the same ((v0, v1), (v2, v3), then the
  ;; winners), so the cell that wins, and hence the bits written, are the same as pool2x2's.
  (func (export "max2x2") (param $x i32) (param $max i32) (param $n i32) (param $h i32)
    (param $w i32)
    (local $ho i32) (local $wo i32) (local $img i32) (local $oh i32) (local $ow i32)
    (local $p i32) (local $pm i32) (local $wb i32) (local $rowb i32)
    (local $lo v128) (local $hi v128)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $m01 v128) (local $m23 v128)
    (local.set $ho (i32.shr_u (local.get $h) (i32.const 1)))
    (local.set $wo (i32.shr_u (local.get $w) (i32.const 1)))
    (if (i32.or (i32.eqz (local.get $n)) (i32.or (i32.eqz (local.get $ho)) (i32.eqz (local.get $wo))))
      (then (return)))
    (local.set $wb (i32.shl (local.get $w) (i32.const 2)))
    ;; $rowb: byte address of the current output row's top input row
    (local.set $rowb (local.get $x))
    (loop $images
      (local.set $oh (i32.const 0))
      (loop $rows
        (local.set $p (local.get $rowb))
        (local.set $pm (local.get $max))
        (local.set $ow (i32.const 0))
        (loop $groups
          ;; taps 0..3 of 4 windows, as in pool2x2
          (local.set $lo (v128.load (local.get $p)))
          (local.set $hi (v128.load offset=16 (local.get $p)))
          (local.set $v0 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (local.get $lo) (local.get $hi)))
          (local.set $v1 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (local.get $lo) (local.get $hi)))
          (local.set $lo (v128.load (i32.add (local.get $p) (local.get $wb))))
          (local.set $hi (v128.load offset=16 (i32.add (local.get $p) (local.get $wb))))
          (local.set $v2 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (local.get $lo) (local.get $hi)))
          (local.set $v3 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (local.get $lo) (local.get $hi)))
          (if (v128.any_true (v128.or (f32x4.ne (local.get $v1) (local.get $v1))
                (v128.or (f32x4.ne (local.get $v2) (local.get $v2))
                  (f32x4.ne (local.get $v3) (local.get $v3)))))
            (then
              ;; a NaN past tap 0: the exact rule, take(v, m) = (m == m) & !(v <= m)
              (local.set $m01 (v128.bitselect (local.get $v1) (local.get $v0)
                (v128.andnot (f32x4.eq (local.get $v0) (local.get $v0))
                  (f32x4.le (local.get $v1) (local.get $v0)))))
              (local.set $m23 (v128.bitselect (local.get $v3) (local.get $v2)
                (v128.andnot (f32x4.eq (local.get $v2) (local.get $v2))
                  (f32x4.le (local.get $v3) (local.get $v2)))))
              (v128.store (local.get $pm) (v128.bitselect (local.get $m23) (local.get $m01)
                (v128.andnot (f32x4.eq (local.get $m01) (local.get $m01))
                  (f32x4.le (local.get $m23) (local.get $m01))))))
            (else
              (v128.store (local.get $pm) (f32x4.pmax
                (f32x4.pmax (local.get $v0) (local.get $v1))
                (f32x4.pmax (local.get $v2) (local.get $v3))))))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (local.set $pm (i32.add (local.get $pm) (i32.const 16)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 4)))
          (br_if $groups (i32.lt_u (local.get $ow) (local.get $wo))))
        (local.set $max (i32.add (local.get $max) (i32.shl (local.get $wo) (i32.const 2))))
        (local.set $rowb (i32.add (local.get $rowb) (i32.shl (local.get $wb) (i32.const 1))))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br_if $rows (i32.lt_u (local.get $oh) (local.get $ho))))
      ;; an odd h leaves one input row unread: the next image starts after it
      (local.set $rowb (i32.add (local.get $x)
        (i32.mul (i32.add (local.get $img) (i32.const 1)) (i32.mul (local.get $h) (local.get $wb)))))
      (local.set $img (i32.add (local.get $img) (i32.const 1)))
      (br_if $images (i32.lt_u (local.get $img) (local.get $n))))))
