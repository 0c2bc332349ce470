#!/usr/bin/python3
"""One SAC v2 update in PyTorch, as a reference for sacbridge's (issue 21).

Written from the SAC paper (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and
Applications": twin soft Q with Polyak targets, reparameterised tanh-Gaussian actor, learned
temperature against a target entropy) and from the order of operations of CleanRL's
sac_continuous_action.py: critic step, then actor step, then temperature step on a fresh sample
taken after the actor step, then Polyak averaging; Adam from torch.optim; the log-probability
with CleanRL's log(1 - tanh(u)^2 + 1e-6) correction (or the exact one with --logprob exact).

Usage: /usr/bin/python3 bench/reference/sac_reference.py DUMP.json [--logprob cleanrl|exact]
       [--alpha-sample fresh|actor] [--float64]
DUMP.json comes from `node dist/bench/reference/oneUpdate.js --out DUMP.json`: sacbridge's
initial weights, batch, noise, and its losses, gradients and updated weights. Prints, for each
quantity, the largest absolute difference and that relative to the largest magnitude; exits 1
when any relative difference exceeds --tol (default 1e-4).
"""
import argparse
import json
import math
import sys

import torch

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


def linear(weights, name, dtype):
    kernel = torch.tensor(weights[f"{name}/kernel"], dtype=dtype)
    bias = torch.tensor(weights[f"{name}/bias"], dtype=dtype)
    out = bias.numel()
    layer = torch.nn.Linear(kernel.numel() // out, out).to(dtype)
    with torch.no_grad():
        # sacbridge stores kernels [in][out] (y = x W + b); torch's weight is [out][in].
        layer.weight.copy_(kernel.view(-1, out).t())
        layer.bias.copy_(bias)
    return layer


class Mlp(torch.nn.Module):
    def __init__(self, weights, name, hidden_layers, dtype):
        super().__init__()
        self.hidden = torch.nn.ModuleList([linear(weights, f"{name}/l{i}", dtype) for i in range(hidden_layers)])
        self.out = linear(weights, f"{name}/out", dtype)
        self.name = name

    def forward(self, x):
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.out(x)

    def named(self):
        pairs = [(f"{self.name}/l{i}", l) for i, l in enumerate(self.hidden)] + [(f"{self.name}/out", self.out)]
        return {f"{n}/{p}": t for n, l in pairs for p, t in (("kernel", l.weight), ("bias", l.bias))}


class Actor(torch.nn.Module):
    def __init__(self, weights, hidden_layers, action_size, dtype, logprob):
        super().__init__()
        self.hidden = torch.nn.ModuleList([linear(weights, f"actor/l{i}", dtype) for i in range(hidden_layers)])
        self.heads = linear(weights, "actor/heads", dtype)
        self.a = action_size
        self.logprob = logprob

    def sample(self, obs, eps):
        h = obs
        for layer in self.hidden:
            h = torch.relu(layer(h))
        z = self.heads(h)
        mean, raw = z[:, : self.a], z[:, self.a :]
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (torch.tanh(raw) + 1)
        std = log_std.exp()
        u = mean + std * eps  # the reparameterised Gaussian sample, as Normal.rsample draws it
        a = torch.tanh(u)
        gauss = -0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
        if self.logprob == "cleanrl":
            jac = torch.log(1 - a.pow(2) + 1e-6)
        else:
            jac = 2 * (math.log(2) - u - torch.nn.functional.softplus(-2 * u))
        return a, (gauss - jac).sum(1, keepdim=True)

    def named(self):
        pairs = [(f"actor/l{i}", l) for i, l in enumerate(self.hidden)] + [("actor/heads", self.heads)]
        return {f"{n}/{p}": t for n, l in pairs for p, t in (("kernel", l.weight), ("bias", l.bias))}


def flat(name, t):
    """A torch parameter (or its gradient) in sacbridge's flat layout."""
    t = t.detach().clone()  # a copy: later backward passes accumulate into .grad in place
    return (t.t() if name.endswith("/kernel") else t).reshape(-1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dump")
    p.add_argument("--logprob", choices=["cleanrl", "exact"], default="cleanrl")
    p.add_argument("--alpha-sample", choices=["fresh", "actor"], default="fresh")
    p.add_argument("--float64", action="store_true")
    p.add_argument("--tol", type=float, default=1e-4)
    args = p.parse_args()
    d = json.load(open(args.dump))
    dtype = torch.float64 if args.float64 else torch.float32
    hp = d["hp"]
    O, A = d["observationSize"], d["actionSize"]
    L = len(hp["hidden"])
    assert hp["variant"] == "v2" and hp["policyFrequency"] == 1
    W = d["before"]
    actor = Actor(W, L, A, dtype, args.logprob)
    qf1, qf2 = Mlp(W, "qf1", L, dtype), Mlp(W, "qf2", L, dtype)
    qf1_t, qf2_t = Mlp(W, "qf1_target", L, dtype), Mlp(W, "qf2_target", L, dtype)
    lr = hp["learningRate"]
    q_opt = torch.optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=hp["criticLearningRate"] or lr)
    pi_opt = torch.optim.Adam(actor.parameters(), lr=hp["actorLearningRate"] or lr)
    log_alpha = torch.tensor([d["logAlphaBefore"]], dtype=dtype, requires_grad=True)
    a_opt = torch.optim.Adam([log_alpha], lr=hp["alphaLearningRate"] or lr)

    b = d["batch"]
    t = lambda x, cols: torch.tensor(x, dtype=dtype).view(-1, cols)
    obs, next_obs, act = t(b["observations"], O), t(b["nextObservations"], O), t(b["actions"], A)
    rew, done = t(b["rewards"], 1), t(b["terminated"], 1)
    eps = {k: t(v, A) for k, v in d["noise"].items()}
    gamma, alpha = hp["gamma"], log_alpha.exp().item()
    ours = {}

    # Critic: y = r + gamma (1 - d) (min_i Q_i'(s', a') - alpha log pi(a'|s')), a' ~ pi(s').
    with torch.no_grad():
        a2, logp2 = actor.sample(next_obs, eps["target"])
        sa2 = torch.cat([next_obs, a2], 1)
        y = rew + gamma * (1 - done) * (torch.min(qf1_t(sa2), qf2_t(sa2)) - alpha * logp2)
    sa = torch.cat([obs, act], 1)
    q1 = qf1(sa)
    l1 = torch.nn.functional.mse_loss(q1, y)
    l2 = torch.nn.functional.mse_loss(qf2(sa), y)
    q_opt.zero_grad()
    (l1 + l2).backward()
    grads = {n: flat(n, v.grad) for m in (qf1, qf2) for n, v in m.named().items()}
    q_opt.step()
    ours.update(qf1_loss=l1.item(), qf2_loss=l2.item(), qf1_mean=q1.mean().item())

    # Actor: E[alpha log pi(a|s) - min_i Q_i(s, a)], a = tanh(mu + sigma eps), critics just updated.
    a1, logp1 = actor.sample(obs, eps["actor"])
    sa1 = torch.cat([obs, a1], 1)
    actor_loss = (alpha * logp1 - torch.min(qf1(sa1), qf2(sa1))).mean()
    pi_opt.zero_grad()
    actor_loss.backward()
    grads.update({n: flat(n, v.grad) for n, v in actor.named().items()})
    pi_opt.step()
    ours.update(actor_loss=actor_loss.item(), entropy=-logp1.mean().item())

    # Temperature: -alpha (log pi + target entropy), on a fresh sample after the actor step
    # (CleanRL), or on the actor step's sample (--alpha-sample actor).
    if args.alpha_sample == "fresh":
        with torch.no_grad():
            _, logp_a = actor.sample(obs, eps["alpha"])
    else:
        logp_a = logp1.detach()
    alpha_loss = (-log_alpha.exp() * (logp_a + d["targetEntropy"])).mean()
    a_opt.zero_grad()
    alpha_loss.backward()
    a_opt.step()
    ours.update(alpha_loss=alpha_loss.item(), alpha=log_alpha.exp().item())

    # Polyak averaging of the target critics.
    with torch.no_grad():
        for src, dst in ((qf1, qf1_t), (qf2, qf2_t)):
            for ps, pd in zip(src.parameters(), dst.parameters()):
                pd.mul_(1 - hp["tau"]).add_(hp["tau"] * ps)

    after = {}
    for m in (actor, qf1, qf2):
        after.update({n: flat(n, v) for n, v in m.named().items()})
    for m, name in ((qf1_t, "qf1_target"), (qf2_t, "qf2_target")):
        after.update({n.replace(m.name, name, 1): flat(n, v) for n, v in m.named().items()})

    print(f"{d['source']}; reference: log-prob {args.logprob}, alpha sample {args.alpha_sample}, {'float64' if args.float64 else 'float32'}")
    rows = []
    for k, v in ours.items():
        s = d["metrics"][k]
        rows.append((f"metric {k}", abs(s - v), abs(v)))
    for n, v in grads.items():
        s = torch.tensor(d["grads"][n], dtype=torch.float64)
        rows.append((f"grad {n}", (s - v.double()).abs().max().item(), v.abs().max().item()))
    # An updated weight's difference is set against the change the update made to it.
    for n, v in after.items():
        s = torch.tensor(d["after"][n], dtype=torch.float64)
        step = (v.double() - torch.tensor(d["before"][n], dtype=torch.float64)).abs().max().item()
        rows.append((f"step {n}", (s - v.double()).abs().max().item(), step))
    worst = 0.0
    print(f"{'quantity':<34}{'max |diff|':>12}{'max |ref|':>12}{'relative':>11}")
    for name, diff, mag in rows:
        rel = diff / mag if mag > 0 else diff
        worst = max(worst, rel)
        print(f"{name:<34}{diff:>12.3e}{mag:>12.3e}{rel:>11.2e}")
    print(f"worst relative difference {worst:.2e} (steps: against the largest change the update made to that tensor)")
    sys.exit(0 if worst <= args.tol else 1)


if __name__ == "__main__":
    main()
