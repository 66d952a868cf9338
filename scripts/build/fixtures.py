#!/usr/bin/python3
"""Generate the PyTorch reference fixtures in tests/fixtures/*.json.

Run it from the repository root with the Debian Python that has torch (NOT the pyenv
`python3`, which has no torch):

    deno task fixtures            # the same as: /usr/bin/python3 scripts/build/fixtures.py

tests/pytorch_test.ts compares convprop against these files. They are committed, so CI needs
neither Python nor torch. Rerunning the script with the same torch rewrites byte-identical
files: every case draws from its own numpy generator seeded by the case name (adding a case
does not change the others), torch runs single-threaded with deterministic algorithms, and the
numbers are written with Python's shortest round-trip repr, so the JSON numbers are exactly the
float64 values torch computed. `--check` regenerates in memory and exits 1 if any file differs
beyond float64 summation order: the random inputs must be identical, and every computed number
within 1e-12 of the committed one relative to its array's scale (a different BLAS, say OpenBLAS
instead of the reference BLAS, sums the same products in another order and moves the last bits).

Every case is computed in float64 with autograd:
  conv:       y = conv2d(x, w, b, stride, padding, dilation, groups) (b may be None);
              y.backward(dy) -> dx, dw, db
  fc:         y = linear(x.reshape(N, -1), w, b);   y.backward(dy) -> dx (x's shape), dw, db
  maxpool:    y = max_pool2d(x, size, stride, padding); y.backward(dy) -> dx
  avgpool:    y = avg_pool2d(x, size, stride, padding, count_include_pad=...); y.backward(dy) -> dx
  relu:       y = relu(x);                          y.backward(dy) -> dx
  softmax_ce: loss = cross_entropy(logits, labels) (mean); loss.backward() -> dlogits; p = softmax
  conv_transpose: y = conv_transpose2d(x, w, b, stride, padding, output_padding, groups,
              dilation) (b may be None); y.backward(dy) -> dx, dw, db
  batchnorm:  y = batch_norm(x, running_mean, running_var, gamma, beta, training, momentum, eps)
              (running_mean, running_var updated in place when training: recorded after);
              y.backward(dy) -> dx, dgamma, dbeta

Random data avoids the points where the derivative is not defined, because there PyTorch and
convprop may legitimately disagree: relu inputs are at least 0.01 away from 0, and max-pool
inputs are distinct (a random permutation of a grid of step 0.01 plus < 0.005 of jitter), so
every window has a unique maximum. The one case with deliberate ties ("ties": true) is checked
only for tie-rule-independent properties (see tests/pytorch_test.ts).
"""

import json
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
torch.set_default_dtype(torch.float64)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures")
BASE_SEED = 20240531


def rng_for(name):
    """A generator seeded by the case name only: cases are independent of each other's order."""
    return np.random.default_rng([BASE_SEED, zlib.crc32(name.encode())])


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def tensor_json(t):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("non-finite value in a fixture")
    # float() of a float64 and json's repr give the shortest string that round-trips exactly.
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def normal(rng, shape, scale=1.0):
    return torch.from_numpy(rng.standard_normal(shape) * scale)


def away_from_zero(rng, shape, lo=0.01, hi=3.0):
    """Values with |v| in [lo, hi] and a random sign: never at relu's kink."""
    mag = rng.uniform(lo, hi, size=shape)
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return torch.from_numpy(mag * sign)


def distinct(rng, shape, step=0.01):
    """Pairwise distinct values (gaps > step/2), centred on 0: max pooling has no ties."""
    n = int(np.prod(shape))
    v = (rng.permutation(n) - n / 2) * step + rng.uniform(0, step / 2, size=n)
    return torch.from_numpy(v.reshape(shape))


# --- conv ---------------------------------------------------------------------------------
# (name, note, N, C, H, W, D, kh, kw, opts) where opts is passed as-is to convForward.
CONV_CASES = [
    ("basic_3x3", "N=C=D=1, square, stride 1, no padding", 1, 1, 5, 5, 1, 3, 3, {}),
    ("nonsquare_input_kernel", "C>1, D>1, N>1, non-square input and kernel",
     2, 3, 7, 5, 4, 3, 2, {}),
    ("stride_2_1_padding_1_0", "stride per axis, padding per axis", 2, 2, 8, 7, 3, 3, 3,
     {"stride": [2, 1], "padding": [1, 0]}),
    ("padding_0_2_kernel_3x5", "padding only on the width axis, wide kernel", 1, 2, 6, 6, 2, 3, 5,
     {"padding": [0, 2]}),
    ("flooring_both_axes", "(H+2p-k)/s = 7/3 and (W+2p-k)/s = 9/2: the last rows/cols are not read",
     2, 1, 8, 10, 2, 3, 3, {"stride": [3, 2], "padding": 1}),
    ("kernel_equals_padded_input", "kh = H+2p, kw = W+2p: one output position",
     3, 2, 4, 3, 5, 6, 5, {"padding": 1}),
    ("kernel_equals_input", "kernel covers the unpadded input: a fully connected layer",
     2, 3, 3, 4, 2, 3, 4, {}),
    ("stride_2_pad_2_k5", "larger case, scalar stride and padding", 2, 3, 12, 10, 4, 5, 5,
     {"stride": 2, "padding": 2}),
    ("pointwise_1x1", "1x1 kernel", 2, 4, 3, 5, 3, 1, 1, {}),
    ("stride_exceeds_kernel", "stride 3 > kernel 2: cells between windows are never read",
     1, 2, 8, 8, 2, 2, 2, {"stride": 3}),
    ("padding_exceeds_kernel", "padding 2 >= kernel 2: border outputs read only zeros (y = b)",
     1, 1, 3, 3, 2, 2, 2, {"padding": 2}),
    ("single_channel_many_filters", "C=1, D=6, stride [1,2], padding [2,1]", 2, 1, 5, 6, 6, 4, 3,
     {"stride": [1, 2], "padding": [2, 1]}),
    ("tall_thin", "H >> W, kernel [5,1]", 1, 3, 11, 2, 2, 5, 1, {"stride": [2, 1]}),
    # dilation, groups, "same", no bias (contract v2)
    ("dilation_2", "3x3 kernel with taps 2 apart: a 5x5 span", 2, 2, 9, 8, 3, 3, 3,
     {"dilation": 2}),
    ("dilation_per_axis_stride_padding", "dilation [2,3], stride [2,1], padding [1,2]",
     1, 3, 10, 11, 2, 3, 2, {"dilation": [2, 3], "stride": [2, 1], "padding": [1, 2]}),
    ("groups_2", "C=4, D=6 in 2 groups: w [6,2,3,3]", 2, 4, 6, 6, 6, 3, 3,
     {"groups": 2, "padding": 1}),
    ("groups_3_stride_2", "C=6, D=3 in 3 groups, stride 2", 1, 6, 7, 7, 3, 2, 2,
     {"groups": 3, "stride": 2}),
    ("depthwise", "groups = C = D = 4: one 3x3 filter per channel", 2, 4, 6, 5, 4, 3, 3,
     {"groups": 4, "padding": 1}),
    ("depthwise_multiplier_2", "groups = C = 3, D = 6: two filters per channel", 1, 3, 5, 5, 6, 3,
     3, {"groups": 3}),
    ("depthwise_dilated_stride_2", "depthwise, dilation 2, stride 2, padding 2", 2, 3, 9, 9, 3,
     3, 3, {"groups": 3, "dilation": 2, "stride": 2, "padding": 2}),
    ("same_3x3", 'padding "same", 3x3', 2, 2, 5, 6, 3, 3, 3, {"padding": "same"}),
    ("same_5x3_dilated", 'padding "same", kernel [5,3], dilation [1,2]', 1, 2, 7, 6, 2, 5, 3,
     {"padding": "same", "dilation": [1, 2]}),
    ("no_bias", "b = None: no db", 2, 3, 5, 5, 2, 3, 3, {"padding": 1, "bias": False}),
    ("no_bias_depthwise_same", "depthwise, same, no bias (a MobileNet block's first half)",
     2, 4, 6, 6, 4, 3, 3, {"groups": 4, "padding": "same", "bias": False}),
]


def conv_case(name, note, N, C, H, W, D, kh, kw, opts):
    rng = rng_for("conv/" + name)
    opts = dict(opts)
    bias = opts.pop("bias", True)  # not an option of convForward: b is null without one
    stride = pair(opts.get("stride", 1))
    padding = opts.get("padding", 0)
    padding = padding if padding == "same" else pair(padding)
    dilation = pair(opts.get("dilation", 1))
    groups = opts.get("groups", 1)
    x = normal(rng, (N, C, H, W)).requires_grad_()
    w = normal(rng, (D, C // groups, kh, kw), 1 / np.sqrt(C // groups * kh * kw)).requires_grad_()
    b = normal(rng, (D,)).requires_grad_() if bias else None
    y = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    dy = normal(rng, tuple(y.shape))
    y.backward(dy)
    return {
        "name": name, "note": note, "opts": opts,
        "x": tensor_json(x), "w": tensor_json(w), "b": tensor_json(b) if bias else None,
        "dy": tensor_json(dy), "y": tensor_json(y), "dx": tensor_json(x.grad),
        "dw": tensor_json(w.grad), "db": tensor_json(b.grad) if bias else None,
    }


# --- fully connected ----------------------------------------------------------------------
FC_CASES = [
    ("single_sample", "x [1,5], w [3,5]", (1, 5), 3),
    ("batch_2d", "x [4,7], w [2,7]", (4, 7), 2),
    ("image_4d", "x [2,3,4,5] flattened C-order to K=60, w [6,60]", (2, 3, 4, 5), 6),
    ("one_feature", "K=1: x [3,1,1,1], w [2,1]", (3, 1, 1, 1), 2),
    ("rank_3", "x [2,3,4] flattened to K=12", (2, 3, 4), 5),
    ("one_output", "D=1: x [5,2,2,2], w [1,8]", (5, 2, 2, 2), 1),
]


def fc_case(name, note, xshape, D):
    rng = rng_for("fc/" + name)
    N = xshape[0]
    K = int(np.prod(xshape[1:]))
    x = normal(rng, xshape).requires_grad_()
    w = normal(rng, (D, K), 1 / np.sqrt(K)).requires_grad_()
    b = normal(rng, (D,)).requires_grad_()
    y = F.linear(x.reshape(N, -1), w, b)
    dy = normal(rng, tuple(y.shape))
    y.backward(dy)
    return {
        "name": name, "note": note,
        "x": tensor_json(x), "w": tensor_json(w), "b": tensor_json(b), "dy": tensor_json(dy),
        "y": tensor_json(y), "dx": tensor_json(x.grad), "dw": tensor_json(w.grad),
        "db": tensor_json(b.grad),
    }


# --- max pool -----------------------------------------------------------------------------
POOL_CASES = [
    ("nonoverlap_2x2", "size 2 (stride defaults to size)", (2, 3, 4, 6), {"size": 2}),
    ("overlap_3_stride_2", "overlapping windows: a cell can win two windows", (1, 2, 7, 7),
     {"size": 3, "stride": 2}),
    ("overlap_2_stride_1", "stride 1: most cells are in four windows", (2, 1, 5, 4),
     {"size": 2, "stride": 1}),
    ("nonsquare_2x3", "size [2,3], stride defaults to [2,3]", (1, 2, 6, 9), {"size": [2, 3]}),
    ("flooring", "5x7 with size 2: last row and column are not read", (1, 1, 5, 7), {"size": 2}),
    ("size_3_2_stride_1_2", "per-axis size and stride, overlapping on rows", (2, 2, 6, 5),
     {"size": [3, 2], "stride": [1, 2]}),
    ("window_equals_input", "one window per channel: global max", (2, 3, 4, 5), {"size": [4, 5]}),
    ("size_1", "size 1: identity", (1, 2, 3, 3), {"size": 1}),
    ("stride_exceeds_size", "size 2, stride 3: cells between windows get zero gradient",
     (1, 1, 8, 8), {"size": 2, "stride": 3}),
]


def pool_case(name, note, xshape, opts, ties=False, shift=0.0):
    rng = rng_for("maxpool/" + name)
    size = pair(opts["size"])
    stride = pair(opts.get("stride", opts["size"]))
    padding = pair(opts.get("padding", 0))
    if ties:
        x = torch.from_numpy(rng.integers(0, 3, size=xshape).astype(np.float64))
    else:
        x = distinct(rng, xshape) + shift
    x.requires_grad_()
    y = F.max_pool2d(x, size, stride, padding)
    dy = normal(rng, tuple(y.shape))
    y.backward(dy)
    case = {"name": name, "note": note, "opts": opts}
    if ties:
        case["ties"] = True
    case.update({"x": tensor_json(x), "dy": tensor_json(dy), "y": tensor_json(y),
                 "dx": tensor_json(x.grad)})
    return case


# Values in {0, 1, 2}: most windows have tied maxima. PyTorch sends the gradient to one of the
# tied cells, convprop may pick another; the test checks y, and that each window's gradient
# goes, whole, to one cell that holds the window's max. (Non-overlapping windows, so that
# property pins dx down up to the choice among tied cells.)
POOL_TIED = ("ties_nonoverlap", "deliberate ties: only tie-rule-independent checks",
             (2, 2, 6, 6), {"size": 2})


# Max pooling with padding (contract v2), after the cases above so that those regenerate
# byte-identically. The padding is -inf in PyTorch (a window's max is never the padding); the
# last case shifts every input below 0, where a zero padding would win every border window.
# (name, note, shape, opts, shift)
POOL_PADDED_CASES = [
    ("padding_1_size_3_stride_2", "ResNet's stem pool: 3x3, stride 2, padding 1", (2, 2, 7, 7),
     {"size": 3, "stride": 2, "padding": 1}, 0.0),
    ("padding_1_size_2_stride_1", "size 2, stride 1, padding 1: every border window is padded",
     (1, 2, 4, 5), {"size": 2, "stride": 1, "padding": 1}, 0.0),
    ("padding_per_axis", "size [2,3], stride [1,2], padding [1,0]", (2, 1, 5, 7),
     {"size": [2, 3], "stride": [1, 2], "padding": [1, 0]}, 0.0),
    ("padding_0_1_size_3", "padding only on the width axis, [0,1], size [3,3], stride [2,1]",
     (1, 2, 7, 4), {"size": 3, "stride": [2, 1], "padding": [0, 1]}, 0.0),
    ("padding_window_equals_padded_input", "size 4, padding 2 on 2x2: one window, 12 of padding",
     (2, 2, 2, 2), {"size": 4, "padding": 2}, 0.0),
    ("padding_negative_inputs", "every input < 0: the padding must read as -inf, not 0",
     (1, 2, 5, 6), {"size": 3, "stride": 2, "padding": 1}, -10.0),
]


# --- average pool -------------------------------------------------------------------------
# (name, note, shape, opts) where opts is passed as-is to avgPoolForward; "global": the window
# is the whole input (global average pooling), also checked against adaptive_avg_pool2d(x, 1).
AVGPOOL_CASES = [
    ("nonoverlap_2x2", "size 2 (stride defaults to size)", (2, 3, 4, 6), {"size": 2}),
    ("overlap_3_stride_1", "stride 1 < size 3: a cell is in up to nine windows", (1, 2, 6, 5),
     {"size": 3, "stride": 1}),
    ("stride_exceeds_size", "size 2, stride 3: cells between windows get zero gradient",
     (1, 1, 8, 8), {"size": 2, "stride": 3}),
    ("nonsquare_2x3_stride_1_2", "size [2,3], stride [1,2]", (2, 2, 6, 7),
     {"size": [2, 3], "stride": [1, 2]}),
    ("flooring", "7x5 with size 2: the last row and column are not read", (1, 2, 7, 5),
     {"size": 2}),
    ("padding_count_include", "size 3, stride 2, padding 1, the padding counted (default)",
     (2, 2, 7, 7), {"size": 3, "stride": 2, "padding": 1}),
    ("padding_count_exclude", "size 3, stride 2, padding 1, countIncludePad false",
     (2, 2, 7, 7), {"size": 3, "stride": 2, "padding": 1, "countIncludePad": False}),
    ("padding_stride_1_include", "3x3 at stride 1 with padding 1, countIncludePad true",
     (1, 1, 5, 5), {"size": 3, "stride": 1, "padding": 1, "countIncludePad": True}),
    ("padding_per_axis_exclude", "size [3,2], stride 1, padding [1,1], not counted",
     (1, 2, 5, 4), {"size": [3, 2], "stride": 1, "padding": [1, 1], "countIncludePad": False}),
    ("padding_0_1_nonsquare_include", "size [2,3], stride [2,1], padding [0,1], counted",
     (2, 1, 6, 5), {"size": [2, 3], "stride": [2, 1], "padding": [0, 1]}),
    ("window_equals_padded_input_exclude", "size 4, padding 2 on 2x2: one window of 4 cells",
     (2, 3, 2, 2), {"size": 4, "padding": 2, "countIncludePad": False}),
    ("window_equals_padded_input_include", "size 4, padding 2 on 2x2: one window of 16 cells",
     (2, 3, 2, 2), {"size": 4, "padding": 2}),
    ("global", "size [H, W]: global average pooling", (3, 4, 5, 6), {"size": [5, 6]}),
    ("global_7x7", "global over 7x7 maps (a small CNN's head)", (2, 8, 7, 7), {"size": 7}),
    ("global_1x1", "global over 1x1 maps: the identity", (2, 3, 1, 1), {"size": 1}),
]


def avgpool_case(name, note, xshape, opts):
    rng = rng_for("avgpool/" + name)
    size = pair(opts["size"])
    stride = pair(opts.get("stride", opts["size"]))
    padding = pair(opts.get("padding", 0))
    count_include_pad = opts.get("countIncludePad", True)
    x = normal(rng, xshape).requires_grad_()
    y = F.avg_pool2d(x, size, stride, padding, ceil_mode=False,
                     count_include_pad=count_include_pad)
    is_global = size == tuple(xshape[2:]) and padding == (0, 0)
    if is_global:
        # global average pooling is the adaptive pool to 1x1, PyTorch's own head of it
        gap = F.adaptive_avg_pool2d(x.detach(), 1)
        assert torch.allclose(y.detach(), gap, rtol=0, atol=1e-14), name
    dy = normal(rng, tuple(y.shape))
    y.backward(dy)
    case = {"name": name, "note": note, "opts": opts}
    if is_global:
        case["global"] = True
    case.update({"x": tensor_json(x), "dy": tensor_json(dy), "y": tensor_json(y),
                 "dx": tensor_json(x.grad)})
    return case


# --- relu ---------------------------------------------------------------------------------
RELU_CASES = [
    ("nchw", "x [2,3,4,5]", (2, 3, 4, 5)),
    ("matrix", "x [3,7]", (3, 7)),
    ("vector", "x [11]", (11,)),
    ("single", "x [1,1,1,1]", (1, 1, 1, 1)),
]


def relu_case(name, note, xshape):
    rng = rng_for("relu/" + name)
    x = away_from_zero(rng, xshape)
    if name == "single":
        x = torch.tensor([[[[0.75]]]])
    x.requires_grad_()
    y = F.relu(x)
    dy = normal(rng, tuple(y.shape))
    y.backward(dy)
    return {"name": name, "note": note, "x": tensor_json(x), "dy": tensor_json(dy),
            "y": tensor_json(y), "dx": tensor_json(x.grad)}


# --- softmax cross-entropy ----------------------------------------------------------------
def sce_logits(name, rng):
    if name == "binary_single":
        return normal(rng, (1, 2)), [1]
    if name == "batch_10_classes":
        return normal(rng, (4, 10), 2.0), list(rng.integers(0, 10, size=4))
    if name == "large_logits":
        # exp(1000) overflows a float64: a naive softmax returns Infinity/Infinity = NaN
        z = normal(rng, (3, 5))
        z[0, 1] = 1000.0
        z[1, :] = torch.tensor([1000.0, -1000.0, 999.0, 0.5, 1000.0])
        z[2, :] = torch.tensor([-1000.0, -1000.0, -999.5, -1000.0, -1001.0])
        return z, [1, 2, 0]
    if name == "confident_wrong":
        # the label's logit is 2000 below the max: the loss is ~2000 and finite
        z = torch.tensor([[1000.0, -1000.0, 0.0], [-3.0, 4.0, 1000.0]])
        return z, [1, 0]
    if name == "all_very_negative":
        # exp(-1000) underflows to 0 in every column: a naive softmax is 0/0
        z = -1000.0 + normal(rng, (2, 4), 0.1)
        return z, [3, 0]
    if name == "equal_logits":
        return torch.full((3, 6), 0.25), [0, 5, 2]  # loss = log 6
    if name == "one_class":
        return normal(rng, (2, 1)), [0, 0]  # loss 0, gradient 0
    if name == "spread_logits":
        return normal(rng, (6, 7), 30.0), list(rng.integers(0, 7, size=6))
    raise KeyError(name)


SCE_CASES = [
    ("binary_single", "N=1, K=2"),
    ("batch_10_classes", "N=4, K=10"),
    ("large_logits", "logits of +-1000: a naive exp overflows"),
    ("confident_wrong", "label logit 2000 below the max: loss ~ 2000"),
    ("all_very_negative", "every logit ~ -1000: a naive exp underflows to 0/0"),
    ("equal_logits", "all logits equal: loss = log K"),
    ("one_class", "K=1: loss 0 and dlogits 0"),
    ("spread_logits", "logits with std 30: probabilities near 0 and 1"),
]


def sce_case(name, note):
    rng = rng_for("softmax_ce/" + name)
    z, labels = sce_logits(name, rng)
    labels = [int(t) for t in labels]
    z = z.clone().requires_grad_()
    loss = F.cross_entropy(z, torch.tensor(labels), reduction="mean")
    loss.backward()
    return {"name": name, "note": note, "logits": tensor_json(z), "labels": labels,
            "loss": float(loss.item()), "dlogits": tensor_json(z.grad),
            "p": tensor_json(torch.softmax(z.detach(), dim=1))}


# --- transposed conv ----------------------------------------------------------------------
# (name, note, N, C, H, W, D, kh, kw, opts): x [N,C,H,W], w [C, D/groups, kh, kw] (PyTorch's
# layout), opts passed as-is to convTransposeForward (and, renamed, to conv_transpose2d).
CONV_TRANSPOSE_CASES = [
    ("basic_3x3", "N=C=D=1, stride 1: every output sums the stamps that cover it",
     1, 1, 4, 4, 1, 3, 3, {}),
    ("nonsquare", "C=3, D=2, N=2, non-square input and kernel", 2, 3, 5, 4, 2, 3, 2, {}),
    ("stride_2_k3", "kernel 3, stride 2: uneven overlap (the checkerboard)", 2, 2, 4, 4, 3, 3, 3,
     {"stride": 2}),
    ("stride_2_k4_p1", "kernel 4, stride 2, padding 1: doubles the size, even overlap",
     1, 3, 4, 4, 2, 4, 4, {"stride": 2, "padding": 1}),
    ("decoder_s2_p1_op1", "kernel 3, stride 2, padding 1, outputPadding 1: 5x5 -> 10x10",
     2, 4, 5, 5, 3, 3, 3, {"stride": 2, "padding": 1, "outputPadding": 1}),
    ("per_axis", "stride [2,3], padding [1,0], outputPadding [1,2], kernel [3,4]",
     1, 2, 3, 4, 2, 3, 4, {"stride": [2, 3], "padding": [1, 0], "outputPadding": [1, 2]}),
    ("dilation_2", "dilation 2, padding 1", 2, 2, 4, 5, 3, 3, 3, {"dilation": 2, "padding": 1}),
    ("output_padding_below_dilation", "stride 1, dilation 2, outputPadding 1 (>= stride, < "
     "dilation): the convolution y -> x has one more output row and column",
     1, 2, 3, 3, 2, 2, 3, {"dilation": 2, "outputPadding": 1}),
    ("output_padding_per_axis_dilation", "stride [2,1], dilation [3,2], outputPadding [2,1], "
     "padding [1,1]", 2, 1, 3, 4, 2, 2, 2,
     {"stride": [2, 1], "dilation": [3, 2], "outputPadding": [2, 1], "padding": 1}),
    ("groups_2", "C=4, D=6 in 2 groups: w [4,3,3,3], stride 2", 2, 4, 3, 3, 6, 3, 3,
     {"groups": 2, "stride": 2}),
    ("depthwise", "groups = C = D = 3, stride 2, padding 1, outputPadding 1", 2, 3, 4, 4, 3, 3, 3,
     {"groups": 3, "stride": 2, "padding": 1, "outputPadding": 1}),
    ("depthwise_multiplier_2", "groups = C = 3, D = 6", 1, 3, 3, 4, 6, 2, 2, {"groups": 3}),
    ("no_bias", "b = None: no db", 2, 3, 3, 3, 2, 3, 3, {"stride": 2, "bias": False}),
    ("no_bias_groups_dilated", "groups 2, dilation 2, stride 2, no bias", 1, 4, 3, 3, 4, 2, 3,
     {"groups": 2, "dilation": 2, "stride": 2, "bias": False}),
    ("padding_leaves_one", "padding 2 crops the 5x5 full output to 1x1", 2, 2, 3, 3, 2, 3, 3,
     {"padding": 2}),
    ("latent_1x1", "x [N,C,1,1], kernel 4: a decoder's first layer (one input position)",
     3, 5, 1, 1, 2, 4, 4, {}),
    ("kernel_1x1_stride_2", "1x1 kernel, stride 2: x spread out with zeros between", 1, 2, 3, 3,
     1, 1, 1, {"stride": 2}),
    ("stride_exceeds_kernel", "kernel 2, stride 3: outputs no stamp covers are the bias",
     1, 1, 3, 3, 2, 2, 2, {"stride": 3}),
]


def conv_transpose_case(name, note, N, C, H, W, D, kh, kw, opts):
    rng = rng_for("conv_transpose/" + name)
    opts = dict(opts)
    bias = opts.pop("bias", True)  # not an option of convTransposeForward: b is null without one
    groups = opts.get("groups", 1)
    x = normal(rng, (N, C, H, W)).requires_grad_()
    w = normal(rng, (C, D // groups, kh, kw), 1 / np.sqrt(C // groups * kh * kw)).requires_grad_()
    b = normal(rng, (D,)).requires_grad_() if bias else None
    y = F.conv_transpose2d(
        x, w, b, stride=pair(opts.get("stride", 1)), padding=pair(opts.get("padding", 0)),
        output_padding=pair(opts.get("outputPadding", 0)), groups=groups,
        dilation=pair(opts.get("dilation", 1)))
    dy = normal(rng, tuple(y.shape))
    y.backward(dy)
    return {
        "name": name, "note": note, "opts": opts,
        "x": tensor_json(x), "w": tensor_json(w), "b": tensor_json(b) if bias else None,
        "dy": tensor_json(dy), "y": tensor_json(y), "dx": tensor_json(x.grad),
        "dw": tensor_json(w.grad), "db": tensor_json(b.grad) if bias else None,
    }


# --- batch norm ---------------------------------------------------------------------------
# (name, note, x shape, training, opts) where opts holds eps and momentum only when they are not
# PyTorch's defaults (1e-5, 0.1), so the defaults are exercised too.
BN_CASES = [
    ("nchw_training", "x [4,3,5,6], training, default eps and momentum", (4, 3, 5, 6), True, {}),
    ("nchw_training_momentum_eps", "momentum 0.3, eps 1e-3", (3, 4, 4, 5), True,
     {"momentum": 0.3, "eps": 1e-3}),
    ("nchw_eval", "evaluation: the running statistics, eps 1e-3", (2, 3, 4, 4), False,
     {"eps": 1e-3}),
    ("nchw_eval_default", "evaluation, default eps", (3, 2, 3, 3), False, {}),
    ("nc_training", "x [8,5]: statistics over the batch only", (8, 5), True, {}),
    ("nc_training_two_values", "x [2,3]: M = 2, the fewest training allows; momentum 0.5",
     (2, 3), True, {"momentum": 0.5}),
    ("nc_eval", "x [6,4], evaluation, eps 1e-4", (6, 4), False, {"eps": 1e-4}),
    ("one_sample_training", "N = 1: statistics over H, W alone", (1, 3, 4, 4), True, {}),
    ("momentum_0", "momentum 0: the running statistics stay", (2, 2, 3, 3), True,
     {"momentum": 0.0}),
    ("momentum_1", "momentum 1: the running statistics become the batch's (unbiased)",
     (2, 2, 3, 3), True, {"momentum": 1.0}),
    ("offset_1000", "x = 1000 + 0.01·N(0,1), exact in float32: E[x²] − E[x]² would cancel",
     (4, 2, 5, 5), True, {}),
    ("nc1x1_eval_after_pool", "x [5,6,1,1] (after global pooling), evaluation", (5, 6, 1, 1),
     False, {}),
]


def bn_case(name, note, xshape, training, opts):
    rng = rng_for("batchnorm/" + name)
    C = xshape[1]
    if name == "offset_1000":
        # float32 numbers, so the float32 run reads exactly these inputs
        x = torch.from_numpy((1000 + 0.01 * rng.standard_normal(xshape)).astype(np.float32)
                             .astype(np.float64))
    else:
        x = normal(rng, xshape, 1.5) + torch.from_numpy(rng.uniform(-1, 1, size=(1, C) +
                                                                 (1,) * (len(xshape) - 2)))
    x.requires_grad_()
    gamma = (1 + normal(rng, (C,), 0.5)).requires_grad_()
    beta = normal(rng, (C,), 0.5).requires_grad_()
    running_mean = normal(rng, (C,), 0.5)
    running_var = torch.from_numpy(rng.uniform(0.5, 2.0, size=C))
    rm, rv = running_mean.clone(), running_var.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=training,
                     momentum=opts.get("momentum", 0.1), eps=opts.get("eps", 1e-5))
    dy = normal(rng, tuple(y.shape))
    y.backward(dy)
    return {
        "name": name, "note": note, "training": training, "opts": opts,
        "x": tensor_json(x), "gamma": tensor_json(gamma), "beta": tensor_json(beta),
        "running_mean": tensor_json(running_mean), "running_var": tensor_json(running_var),
        "dy": tensor_json(dy), "y": tensor_json(y),
        "running_mean_after": tensor_json(rm), "running_var_after": tensor_json(rv),
        "dx": tensor_json(x.grad), "dgamma": tensor_json(gamma.grad),
        "dbeta": tensor_json(beta.grad),
    }


# --- writing ------------------------------------------------------------------------------
def build():
    files = {
        "conv": [conv_case(*c) for c in CONV_CASES],
        "fc": [fc_case(*c) for c in FC_CASES],
        "maxpool": [pool_case(*c) for c in POOL_CASES] + [pool_case(*POOL_TIED, ties=True)]
        + [pool_case(*c[:4], shift=c[4]) for c in POOL_PADDED_CASES],
        "avgpool": [avgpool_case(*c) for c in AVGPOOL_CASES],
        "relu": [relu_case(*c) for c in RELU_CASES],
        "softmax_ce": [sce_case(*c) for c in SCE_CASES],
        "conv_transpose": [conv_transpose_case(*c) for c in CONV_TRANSPOSE_CASES],
        "batchnorm": [bn_case(*c) for c in BN_CASES],
    }
    out = {}
    for layer, cases in files.items():
        header = {
            "layer": layer,
            "generator": "scripts/build/fixtures.py (deno task fixtures)",
            "torch": torch.__version__,
            "dtype": "float64",
        }
        head = json.dumps(header, separators=(",", ":"))[:-1]
        body = ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases)
        out[f"{layer}.json"] = f'{head},"cases":[\n{body}\n]}}\n'
        json.loads(out[f"{layer}.json"])  # well-formed
    return out


def max_rel_diff(a, b):
    """Largest |a - b| relative to the scale max(1, max |array|) over matching JSON trees;
    inf when the trees differ in structure or in anything that is not a float."""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return float("inf")
        if all(isinstance(v, float) for v in a + b) and a:
            scale = max([1.0] + [abs(v) for v in a + b])
            return max(abs(u - v) for u, v in zip(a, b)) / scale
        return max([0.0] + [max_rel_diff(u, v) for u, v in zip(a, b)])
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return float("inf")
        return max([0.0] + [max_rel_diff(a[k], b[k]) for k in a if k != "torch"])
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) / max(1.0, abs(a), abs(b))
    return 0.0 if a == b else float("inf")


def main():
    check = "--check" in sys.argv[1:]
    out = build()
    os.makedirs(OUT_DIR, exist_ok=True)
    differ = []
    total = 0
    for fname, text in out.items():
        path = os.path.join(OUT_DIR, fname)
        data = text.encode()
        total += len(data)
        ncases = text.count("\n") - 2  # header line, one line per case, closing line
        if check:
            old = open(path, "rb").read() if os.path.exists(path) else None
            if old == data:
                print(f"same    tests/fixtures/{fname}: {ncases} cases")
                continue
            diff = float("inf") if old is None else max_rel_diff(json.loads(old), json.loads(text))
            if diff <= 1e-12:
                print(f"same    tests/fixtures/{fname}: {ncases} cases "
                      f"(up to summation order: largest relative difference {diff:.1e})")
            else:
                differ.append(fname)
                print(f"DIFFERS tests/fixtures/{fname}: {ncases} cases (largest relative difference {diff:.1e})")
        else:
            with open(path, "wb") as f:
                f.write(data)
            print(f"wrote tests/fixtures/{fname}: {ncases} cases, {len(data)} bytes")
    print(f"total {total} bytes")
    if differ:
        print("regenerated fixtures differ from the committed ones: " + ", ".join(differ))
        sys.exit(1)


if __name__ == "__main__":
    main()
