"""Parity fixtures for nn.BatchNorm and the loss functions.

Writes nn/testdata/bn_loss_parity.json, read by nn/bn_loss_parity_test.go.
Run with Debian's interpreter (it has python3-torch):

    /usr/bin/python3 tools/fixtures_bn_loss.py

Activations are stored NHWC. For every loss and every reduction the file
holds the value and the gradient of the input; for reduction 'none' the
gradient is that of (loss * up).sum() with the stored upstream gradient up.
"""
import torch
import torch.nn.functional as F

from fixturelib import nhwc, write

torch.manual_seed(0)
T = {}
meta = {}


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss (torchvision 0.14), copied verbatim
    because torchvision is not installed next to python3-torch."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


# ---------------------------------------------------------------- batch norm

def bn_case(name, shape, eps, momentum, offset=0.0, spread=1.0):
    """shape is NCHW (4-d, BatchNorm2d) or NC (2-d, BatchNorm1d)."""
    c = shape[1]
    bn = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(c, eps=eps, momentum=momentum)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(c) + 0.5)
        bn.bias.copy_(torch.randn(c) * 0.5)
        bn.running_mean.copy_(torch.randn(c))
        bn.running_var.copy_(torch.rand(c) + 0.5)
    conv = nhwc if len(shape) == 4 else (lambda t: t)
    p = "bn/" + name + "/"
    meta[p + "eps"] = eps
    meta[p + "momentum"] = momentum
    T[p + "weight"] = bn.weight.detach().clone()
    T[p + "bias"] = bn.bias.detach().clone()
    T[p + "rm0"] = bn.running_mean.clone()
    T[p + "rv0"] = bn.running_var.clone()

    x1 = torch.randn(*shape) * spread + offset
    x2 = (torch.randn(*shape) * spread + offset).requires_grad_()
    g = torch.randn(*shape)
    bn.train()
    with torch.no_grad():
        bn(x1)
    y2 = bn(x2)
    (y2 * g).sum().backward()
    T[p + "x1"] = conv(x1)
    T[p + "x2"] = conv(x2)
    T[p + "g"] = conv(g)
    T[p + "train_y"] = conv(y2)
    T[p + "train_dx"] = conv(x2.grad)
    T[p + "train_dw"] = bn.weight.grad.clone()
    T[p + "train_db"] = bn.bias.grad.clone()
    T[p + "rm"] = bn.running_mean.clone()
    T[p + "rv"] = bn.running_var.clone()

    bn.zero_grad()
    bn.eval()
    x3 = (torch.randn(*shape) * spread + offset).requires_grad_()
    g3 = torch.randn(*shape)
    y3 = bn(x3)
    (y3 * g3).sum().backward()
    T[p + "x3"] = conv(x3)
    T[p + "g3"] = conv(g3)
    T[p + "eval_y"] = conv(y3)
    T[p + "eval_dx"] = conv(x3.grad)
    T[p + "eval_dw"] = bn.weight.grad
    T[p + "eval_db"] = bn.bias.grad


bn_case("pt", (2, 5, 3, 3), 1e-5, 0.1)
bn_case("tf", (2, 5, 3, 3), 1e-3, 0.01, offset=3.0, spread=2.0)
bn_case("pt_b1", (1, 3, 3, 4), 1e-5, 0.1)
bn_case("tf_1d", (6, 7), 1e-3, 0.01)


# -------------------------------------------------------------------- losses

def loss_case(name, x, fn):
    """fn(x, reduction) -> loss. Stores value and input gradient for every
    reduction."""
    p = "loss/" + name + "/"
    T[p + "x"] = x
    for red in ("mean", "sum", "none"):
        xv = x.clone().requires_grad_()
        v = fn(xv, red)
        if red == "none":
            up = torch.randn(*v.shape)
            T[p + "up"] = up
            (v * up).sum().backward()
        else:
            v.backward()
        T[p + "value_" + red] = v.reshape(-1)
        T[p + "grad_" + red] = xv.grad


N, K = 7, 5
logits = torch.randn(N, K) * 2
logits[3] += 40  # a row far from 0: needs the max-shifted log-sum-exp
labels = torch.tensor([0, 4, 2, 2, 1, 3, 4])
cw = torch.rand(K) + 0.25
sw = torch.rand(N)
soft = torch.softmax(torch.randn(N, K) * 2, dim=1)
T["ce/labels"] = labels.float()
T["ce/cw"] = cw
T["ce/sw"] = sw
T["ce/soft"] = soft


def weighted(v, w, red, den):
    v = v * w
    if red == "none":
        return v
    if red == "sum":
        return v.sum()
    return v.sum() / den


loss_case("ce_plain", logits, lambda x, r: F.cross_entropy(x, labels, reduction=r))
loss_case("ce_ls", logits, lambda x, r: F.cross_entropy(x, labels, label_smoothing=0.1, reduction=r))
loss_case("ce_cw", logits, lambda x, r: F.cross_entropy(x, labels, weight=cw, reduction=r))
loss_case("ce_cw_ls", logits, lambda x, r: F.cross_entropy(x, labels, weight=cw, label_smoothing=0.1, reduction=r))
loss_case("ce_sw", logits, lambda x, r: weighted(
    F.cross_entropy(x, labels, label_smoothing=0.1, reduction="none"), sw, r, N))
loss_case("ce_sw_cw", logits, lambda x, r: weighted(
    F.cross_entropy(x, labels, weight=cw, reduction="none"), sw, r, cw[labels].sum()))
loss_case("ce_soft", logits, lambda x, r: F.cross_entropy(x, soft, reduction=r))
loss_case("ce_soft_ls_cw", logits, lambda x, r: F.cross_entropy(x, soft, weight=cw, label_smoothing=0.1, reduction=r))
loss_case("ce_soft_sw", logits, lambda x, r: weighted(F.cross_entropy(x, soft, reduction="none"), sw, r, N))

bl = torch.randn(4, 6) * 3
bl[0, 0], bl[0, 1], bl[1, 2], bl[2, 3] = 30.0, -30.0, 18.0, -18.0  # saturated sigmoids
bt = (torch.rand(4, 6) > 0.6).float()
bt[3] = torch.rand(6)  # one row of soft targets
bt[0, 0], bt[0, 1], bt[1, 2], bt[2, 3] = 1.0, 0.0, 0.0, 1.0
T["bce/t"] = bt
loss_case("bce", bl, lambda x, r: F.binary_cross_entropy_with_logits(x, bt, reduction=r))
loss_case("focal_a25_g15", bl, lambda x, r: sigmoid_focal_loss(x, bt, 0.25, 1.5, r))
loss_case("focal_a25_g2", bl, lambda x, r: sigmoid_focal_loss(x, bt, 0.25, 2.0, r))
loss_case("focal_noalpha_g2", bl, lambda x, r: sigmoid_focal_loss(x, bt, -1.0, 2.0, r))

rt = torch.randn(3, 2, 5)
rp = rt + torch.randn(3, 2, 5) * 1.5
T["reg/t"] = rt
loss_case("huber_d01", rp, lambda x, r: F.huber_loss(x, rt, delta=0.1, reduction=r))
loss_case("huber_d1", rp, lambda x, r: F.huber_loss(x, rt, delta=1.0, reduction=r))
loss_case("l1", rp, lambda x, r: F.l1_loss(x, rt, reduction=r))
loss_case("mse", rp, lambda x, r: F.mse_loss(x, rt, reduction=r))

meta["torch"] = torch.__version__
write("nn/testdata/bn_loss_parity.json", meta, T)
