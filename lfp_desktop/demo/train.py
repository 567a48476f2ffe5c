"""Train the bundled demo StyleGAN2 on procedurally rendered faces (CPU-friendly).

    python -m lfp_desktop.demo.train --out runs/demo [--iters 12000] [--resume]
    python -m lfp_desktop.demo.train --export runs/demo/snapshot.pt --to resources/demo/generator.pt

The recipe is the usual StyleGAN2 one at a small scale: non-saturating logistic loss,
lazy R1 on real images, style mixing, an exponential moving average of G, Adam with
β = (0, 0.99). Snapshots use the rosinality layout (g, d, g_ema, optimisers, args), so
the strict loader reads them directly. Seeded and resumable.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lfp_desktop.engine.ops import LRELU_GAIN
from lfp_desktop.engine.stylegan2 import Generator, GeneratorConfig

DEMO_CONFIG = dict(size=64, style_dim=128, n_mlp=4, channels=(96, 48, 32, 16, 8))


class EqualConv2d(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualFC(nn.Module):
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim))
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.scale = 1.0 / math.sqrt(in_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


class DownBlock(nn.Module):
    """Residual block: two 3×3 convs and a 1×1 skip, then 2× average-pool downsampling."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = EqualConv2d(in_ch, in_ch, 3)
        self.conv2 = EqualConv2d(in_ch, out_ch, 3)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _act(self.conv1(x))
        y = F.avg_pool2d(_act(self.conv2(y)), 2)
        return (y + F.avg_pool2d(self.skip(x), 2)) / math.sqrt(2.0)


class Discriminator(nn.Module):
    """ResNet discriminator with a minibatch-stddev feature; widths mirror the generator's."""

    def __init__(self, size: int, channels: tuple[int, ...]):
        super().__init__()
        rev = list(reversed(channels))  # width at size, size/2, ..., 4
        self.from_rgb = EqualConv2d(3, rev[0], 1)
        self.blocks = nn.ModuleList(DownBlock(a, b) for a, b in zip(rev[:-1], rev[1:]))
        c4 = rev[-1]
        self.final_conv = EqualConv2d(c4 + 1, c4, 3)
        self.fc1 = EqualFC(c4 * 16, c4)
        self.fc2 = EqualFC(c4, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = _act(self.from_rgb(img))
        for block in self.blocks:
            x = block(x)
        b, c, h, w = x.shape
        group = min(4, b)
        while b % group:
            group -= 1
        y = x.view(group, -1, c, h, w)
        std = torch.sqrt(y.var(0, unbiased=False) + 1e-8).mean([1, 2, 3])  # (b/group,)
        std = std.view(-1, 1, 1, 1).repeat(group, 1, h, w)
        x = _act(self.final_conv(torch.cat([x, std], 1)))
        return self.fc2(_act(self.fc1(x.flatten(1))))


def mixed_latents(g: Generator, batch: int, prob: float) -> torch.Tensor:
    """W+ latents with style mixing at a random crossover for a fraction ``prob`` of the batch."""
    d, n = g.config.style_dim, g.n_latent
    w1 = g.mapping(torch.randn(batch, d))
    w2 = g.mapping(torch.randn(batch, d))
    cut = torch.where(torch.rand(batch) < prob, torch.randint(1, n, (batch,)), torch.full((batch,), n))
    layer = torch.arange(n)[None, :, None]
    return torch.where(layer < cut[:, None, None], w1[:, None], w2[:, None])


def load_dataset(size: int, n: int, seed: int, cache: Path) -> torch.Tensor:
    """Rendered faces as float32 (n, 3, size, size) in [-1, 1], cached as .npy."""
    if cache.exists():
        arr = np.load(cache)
    else:
        from lfp_desktop.demo.faces import render_faces

        t0 = time.time()
        arr = render_faces(n, size=size, seed=seed)
        np.save(cache, arr)
        print(f"rendered {n} faces at {size} px in {time.time() - t0:.1f} s", flush=True)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _ema(ema: nn.Module, src: nn.Module, decay: float) -> None:
    with torch.no_grad():
        for pe, ps in zip(ema.parameters(), src.parameters()):
            pe.lerp_(ps, 1.0 - decay)


def train(args: argparse.Namespace) -> Path:
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = GeneratorConfig(**DEMO_CONFIG)
    data = load_dataset(config.size, args.dataset, args.seed, out / f"faces_{config.size}_{args.dataset}_{args.seed}.npy")
    g, g_ema, d = Generator(config), Generator(config), Discriminator(config.size, config.channels)
    g_ema.load_state_dict(g.state_dict())
    g_ema.requires_grad_(False)
    c = args.r1_every / (args.r1_every + 1)
    g_opt = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.0, 0.99))
    d_opt = torch.optim.Adam(d.parameters(), lr=args.lr * c, betas=(0.0, 0.99 ** c))
    snap = out / "snapshot.pt"
    start = 0
    if args.resume and snap.exists():
        with torch.serialization.safe_globals([argparse.Namespace]):
            ck = torch.load(snap, map_location="cpu", weights_only=True)
        g.load_state_dict(ck["g"]); d.load_state_dict(ck["d"]); g_ema.load_state_dict(ck["g_ema"])
        g_opt.load_state_dict(ck["g_optim"]); d_opt.load_state_dict(ck["d_optim"])
        start = int(ck["iter"])
        torch.set_rng_state(ck["rng"])
        print(f"resumed at iteration {start}", flush=True)
    decay = 0.5 ** (args.batch / (args.ema_kimg * 1000))
    t0, log = time.time(), []
    for it in range(start, args.iters):
        idx = torch.randint(0, data.shape[0], (args.batch,))
        real = data[idx]
        flip = torch.rand(args.batch) < 0.5
        real = torch.where(flip[:, None, None, None], real.flip(3), real)
        # discriminator
        g.requires_grad_(False); d.requires_grad_(True)
        with torch.no_grad():
            fake = g.synthesis(mixed_latents(g, args.batch, args.mixing), noise="random")
        d_loss = F.softplus(d(fake)).mean() + F.softplus(-d(real)).mean()
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        if it % args.r1_every == 0:
            real.requires_grad_(True)
            (grad,) = torch.autograd.grad(d(real).sum(), real, create_graph=True)
            r1 = grad.square().sum([1, 2, 3]).mean()
            d_opt.zero_grad(set_to_none=True)
            (args.r1_gamma / 2 * r1 * args.r1_every).backward()
            d_opt.step()
        # generator
        g.requires_grad_(True); d.requires_grad_(False)
        fake = g.synthesis(mixed_latents(g, args.batch, args.mixing), noise="random")
        g_loss = F.softplus(-d(fake)).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        _ema(g_ema, g, decay)
        log.append((d_loss.item(), g_loss.item()))
        done = it + 1
        if done % args.log_every == 0 or done == args.iters:
            dl, gl = np.mean(log, axis=0)
            log = []
            rate = (time.time() - t0) / (done - start)
            print(f"iter {done:6d}/{args.iters}  D {dl:.3f}  G {gl:.3f}  {rate:.3f} s/it  "
                  f"eta {rate * (args.iters - done) / 60:.1f} min", flush=True)
        if done % args.snap_every == 0 or done == args.iters:
            save_snapshot(snap, g, d, g_ema, g_opt, d_opt, args, done)
            save_sheet(g_ema, out / f"sheet_{done:06d}.png")
    return snap


def save_snapshot(path: Path, g: nn.Module, d: nn.Module, g_ema: nn.Module, g_opt: torch.optim.Optimizer,
                  d_opt: torch.optim.Optimizer, args: argparse.Namespace, it: int) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"g": g.state_dict(), "d": d.state_dict(), "g_ema": g_ema.state_dict(),
                "g_optim": g_opt.state_dict(), "d_optim": d_opt.state_dict(), "iter": it,
                "rng": torch.get_rng_state(), "args": argparse.Namespace(**vars(args))}, tmp)
    tmp.replace(path)


def save_sheet(g: Generator, path: Path, n: int = 32, seed: int = 123) -> None:
    from PIL import Image

    from lfp_desktop.engine.images import to_uint8

    with torch.no_grad():
        z = torch.randn(n, g.config.style_dim, generator=torch.Generator().manual_seed(seed))
        imgs = to_uint8(g(z))
    rows = [np.concatenate(list(imgs[i:i + 8]), axis=1) for i in range(0, n, 8)]
    Image.fromarray(np.concatenate(rows, axis=0)).resize((8 * g.config.size * 3, n // 8 * g.config.size * 3),
                                                           Image.NEAREST).save(path)


def export(snapshot: Path, target: Path, n_avg: int = 10_000) -> None:
    """Write only g_ema and its latent_avg (the file the app ships and attributes against)."""
    from lfp_desktop.engine.checkpoint import build_generator, read_checkpoint

    state, _, _, _ = read_checkpoint(snapshot)
    gen = build_generator(state)
    avg = gen.truncation_latent(n_avg, seed=0).clone()
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"g_ema": {k: v.clone() for k, v in state.items()}, "latent_avg": avg}, target)
    print(f"exported {target} ({target.stat().st_size / 1e6:.1f} MB)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--iters", type=int, default=12000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--r1-gamma", type=float, default=0.01)
    p.add_argument("--r1-every", type=int, default=16)
    p.add_argument("--mixing", type=float, default=0.5)
    p.add_argument("--ema-kimg", type=float, default=2.0)
    p.add_argument("--dataset", type=int, default=20_000, help="number of rendered training faces")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--snap-every", type=int, default=500)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--export", type=Path, default=None, help="snapshot to export instead of training")
    p.add_argument("--to", type=Path, default=None, help="export target file")
    args = p.parse_args(argv)
    if args.export:
        export(args.export, args.to or Path("generator.pt"))
        return 0
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
