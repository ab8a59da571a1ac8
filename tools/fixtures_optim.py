"""Parity fixtures for package optim: three consecutive optimizer steps.

For three small parameters ("w" [3, 4], "b" [4], "k" [2, 2, 3]) and three
fixed sets of gradients, run each optimizer configuration for three steps and
record every parameter after every step. The Go test (optim/parity_test.go)
repeats the same configurations and compares at rel 1e-5.

Cases (names are the tensor prefixes):
  sgd_nesterov   SGD lr 0.1, momentum 0.9, nesterov, weight decay 1e-2
  sgd_dampening  SGD lr 0.1, momentum 0.9, dampening 0.5, weight decay 1e-2
  adam           Adam lr 1e-2, weight decay 1e-2 (L2)
  adam_amsgrad   Adam lr 1e-2, amsgrad, betas (0.8, 0.9)
  adam_skip      Adam lr 1e-2; "b" has no gradient at step 2 (skipped, its
                 own step count lags behind)
  adamw          AdamW lr 1e-2, weight decay 0.1
  adamw_nodecay  AdamW lr 1e-2, weight decay 0.1 except rank <= 1 ("b")
  rmsprop        RMSprop lr 1e-2, centered, momentum 0.9, weight decay 1e-2
  rmsprop_plain  RMSprop lr 1e-2 (no momentum, not centered)
  rmsproptf      timm's RMSpropTF (reimplemented below from its published
                 update rule) lr 1e-2, alpha 0.9, eps 1e-3, momentum 0.9,
                 centered, weight decay 1e-2

Regenerate with:  /usr/bin/python3 tools/fixtures_optim.py
"""
import torch

from fixturelib import write

torch.manual_seed(0)
SHAPES = {"w": (3, 4), "b": (4,), "k": (2, 2, 3)}
STEPS = 3
init = {n: torch.randn(*s) for n, s in SHAPES.items()}
grads = [{n: torch.randn(*s) for n, s in SHAPES.items()} for _ in range(STEPS)]


class RMSpropTF(torch.optim.Optimizer):
    """timm's RMSpropTF update rule with decoupled_decay=False and
    lr_in_momentum=True: eps inside the square root, mean square initialised
    to ones, TensorFlow's order of operations, LR folded into momentum."""

    def __init__(self, params, lr, alpha, eps, weight_decay, momentum, centered):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["square_avg"] = torch.ones_like(p)
                    if group["momentum"] > 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(p)
                square_avg = state["square_avg"]
                one_minus_alpha = 1.0 - group["alpha"]
                state["step"] += 1
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                square_avg.add_(grad.pow(2) - square_avg, alpha=one_minus_alpha)
                if group["centered"]:
                    grad_avg = state["grad_avg"]
                    grad_avg.add_(grad - grad_avg, alpha=one_minus_alpha)
                    avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).add(group["eps"]).sqrt_()
                else:
                    avg = square_avg.add(group["eps"]).sqrt_()
                if group["momentum"] > 0:
                    buf = state["momentum_buffer"]
                    buf.mul_(group["momentum"])
                    buf.addcdiv_(grad, avg, value=group["lr"])
                    p.add_(-buf)
                else:
                    p.addcdiv_(grad, avg, value=-group["lr"])


def groups(params, wd):
    """Weight decay on rank >= 2 only (timm's bias/norm exclusion)."""
    return [
        {"params": [p for p in params.values() if p.dim() > 1], "weight_decay": wd},
        {"params": [p for p in params.values() if p.dim() <= 1], "weight_decay": 0.0},
    ]


CASES = {
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps.values(), lr=0.1, momentum=0.9, nesterov=True,
                                               weight_decay=1e-2, foreach=False),
    "sgd_dampening": lambda ps: torch.optim.SGD(ps.values(), lr=0.1, momentum=0.9, dampening=0.5,
                                                weight_decay=1e-2, foreach=False),
    "adam": lambda ps: torch.optim.Adam(ps.values(), lr=1e-2, weight_decay=1e-2, foreach=False),
    "adam_amsgrad": lambda ps: torch.optim.Adam(ps.values(), lr=1e-2, betas=(0.8, 0.9), amsgrad=True,
                                                foreach=False),
    "adam_skip": lambda ps: torch.optim.Adam(ps.values(), lr=1e-2, foreach=False),
    "adamw": lambda ps: torch.optim.AdamW(ps.values(), lr=1e-2, weight_decay=0.1, foreach=False),
    "adamw_nodecay": lambda ps: torch.optim.AdamW(groups(ps, 0.1), lr=1e-2, foreach=False),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps.values(), lr=1e-2, centered=True, momentum=0.9,
                                              weight_decay=1e-2, foreach=False),
    "rmsprop_plain": lambda ps: torch.optim.RMSprop(ps.values(), lr=1e-2, foreach=False),
    "rmsproptf": lambda ps: RMSpropTF(ps.values(), lr=1e-2, alpha=0.9, eps=1e-3, weight_decay=1e-2,
                                      momentum=0.9, centered=True),
}

tensors = {}
for n in SHAPES:
    tensors[f"init.{n}"] = init[n]
    for s in range(STEPS):
        tensors[f"grad.{s + 1}.{n}"] = grads[s][n]

for case, make in CASES.items():
    params = {n: torch.nn.Parameter(init[n].clone()) for n in SHAPES}
    opt = make(params)
    for s in range(STEPS):
        for n, p in params.items():
            p.grad = grads[s][n].clone()
        if case == "adam_skip" and s == 1:
            params["b"].grad = None
        opt.step()
        for n, p in params.items():
            tensors[f"{case}.{s + 1}.{n}"] = p.detach().clone()

write("optim/testdata/optim_parity.json",
      {"torch": torch.__version__, "steps": STEPS, "cases": sorted(CASES)}, tensors)
