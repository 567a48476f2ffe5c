"""Benchmark attribution of latent diffusion model images: seconds per attributed image.

Two models, each saved in the diffusers folder layout and loaded back through the real loader:

* ``tiny`` (default): the 32 px test model of tests/engine/ldm_tiny.py (z₀ 3×8×8), CPU-sized;
* ``ldm256``: a 256 px model shaped like the CompVis CelebA-HQ LDM-VQ-4 (z₀ 3×64×64 = 12 288
  dims, VQ-f4 autoencoder with 8192 codes; ``--unet celebahq`` or a ``small`` UNet), random
  weights, meant for a GPU.

The scheme is made with the real code (DDIM z₀ samples, PCA), keys are drawn at random, images
are generated with them, and every image is attributed with the same engine call the app uses.

Usage (from the repository root):

    python tests/benchmarks/bench_ldm.py                                   # tiny, CPU
    python tests/benchmarks/bench_ldm.py --model ldm256 --device cuda      # 256 px on a GPU
    python tests/benchmarks/bench_ldm.py --json

Figures: load, scheme and sampling seconds; attribution seconds per image (wall time of the
batched call divided by the images), median optimisation steps, bit and full-key accuracy.
Random-weight models say nothing about the accuracy on a trained model; the times are the point.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def save_ldm256(folder: Path, unet: str) -> Path:
    """A random 256 px LDM-VQ-4-shaped model in the diffusers layout."""
    import torch
    from diffusers import DDIMScheduler, LDMPipeline, UNet2DModel, VQModel

    torch.manual_seed(0)
    if unet == "celebahq":  # model_channels 224, channel mult 1-2-3-4, attention below 32 px
        net = UNet2DModel(sample_size=64, in_channels=3, out_channels=3, layers_per_block=2,
                          block_out_channels=(224, 448, 672, 896),
                          down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
                          up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
                          attention_head_dim=32)
    else:
        net = UNet2DModel(sample_size=64, in_channels=3, out_channels=3, layers_per_block=1,
                          block_out_channels=(32, 64), down_block_types=("DownBlock2D",) * 2,
                          up_block_types=("UpBlock2D",) * 2, norm_num_groups=8)
    with torch.no_grad():
        net.conv_out.weight.mul_(0.05)
    vq = VQModel(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
                 up_block_types=("UpDecoderBlock2D",) * 3, block_out_channels=(128, 256, 512), layers_per_block=2,
                 latent_channels=3, num_vq_embeddings=8192, vq_embed_dim=3, sample_size=256, scaling_factor=4.0)
    with torch.no_grad():
        vq.quantize.embedding.weight.normal_(0.0, 1.5)
    sched = DDIMScheduler(beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear", clip_sample=False,
                          set_alpha_to_one=False)
    LDMPipeline(vqvae=vq, unet=net, scheduler=sched).save_pretrained(folder)
    return folder


def run(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import torch

    from lfp_desktop.engine.attribution import attribute
    from lfp_desktop.engine.checkpoint import load_model
    from lfp_desktop.engine.fingerprint import generate
    from lfp_desktop.engine.ldm_scheme import create_ldm_scheme
    from lfp_desktop.engine.settings import AttributionSettings

    torch.set_num_threads(args.threads)
    out: dict[str, Any] = {"model": args.model, "device": args.device, "threads": args.threads,
                           "machine": f"{platform.node()} {platform.processor() or platform.machine()}"}
    with tempfile.TemporaryDirectory(prefix="lfp-bench-ldm-") as tmp:
        if args.model == "tiny":
            from tests.engine.ldm_tiny import save_tiny_ldm

            folder = save_tiny_ldm(Path(tmp) / "tiny")
        else:
            folder = save_ldm256(Path(tmp) / "ldm256", args.unet)
        t0 = time.perf_counter()
        gen = load_model(folder, device=args.device)
        out["load_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        scheme = create_ldm_scheme(gen, key_len=args.key_len, shift=args.shift, repeat=3, sigma=args.sigma,
                                   n_samples=args.pca_samples, seed=0, ddim_steps=args.ddim_steps, batch=args.batch)
        out["scheme_s"] = time.perf_counter() - t0
        keys = np.random.default_rng(1).integers(0, 2, (args.images, args.key_len), dtype=np.uint8)
        t0 = time.perf_counter()
        images = generate(gen, scheme, keys, list(range(100, 100 + args.images))).images
        out["sample_s_per_image"] = (time.perf_counter() - t0) / args.images
        settings = AttributionSettings(starts=args.starts, steps=args.steps, penalty=0.005)
        attribute(gen, scheme, images[:1], settings=AttributionSettings(starts=2, steps=2), device=args.device)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        results = attribute(gen, scheme, images, settings=settings, device=args.device)
        out["attribution_s_per_image"] = (time.perf_counter() - t0) / args.images
        if args.device.startswith("cuda"):
            out["peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 1e9
    decoded = np.stack([r.bits for r in results])
    out.update(image_size=gen.config.size, latent_dim=gen.config.style_dim, images=args.images,
               starts=args.starts, max_steps=args.steps, key_len=args.key_len, shift=args.shift,
               median_steps=statistics.median(r.steps_run for r in results),
               bit_accuracy=float((decoded == keys).mean()), full_key_accuracy=float((decoded == keys).all(1).mean()))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("tiny", "ldm256"), default="tiny")
    p.add_argument("--unet", choices=("celebahq", "small"), default="celebahq", help="UNet of the ldm256 model")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--starts", type=int, default=20)
    p.add_argument("--steps", type=int, default=2000, help="maximum steps (early stopping is on)")
    p.add_argument("--key-len", type=int, default=None, help="default 8 (tiny) or 64 (ldm256)")
    p.add_argument("--shift", type=int, default=None, help="default 40 (tiny) or 4000 (ldm256)")
    p.add_argument("--sigma", type=float, default=40.0)
    p.add_argument("--pca-samples", type=int, default=None, help="default 300 (tiny) or 4500 (ldm256)")
    p.add_argument("--ddim-steps", type=int, default=None, help="default 4 (tiny) or 10 (ldm256)")
    p.add_argument("--batch", type=int, default=64, help="DDIM batch for the scheme's samples")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    tiny = args.model == "tiny"
    for name, small, big in (("key_len", 8, 64), ("shift", 40, 4000), ("pca_samples", 300, 4500),
                             ("ddim_steps", 4, 10)):
        if getattr(args, name) is None:
            setattr(args, name, small if tiny else big)
    res = run(args)
    if args.json:
        print(json.dumps(res, indent=2))
        return
    for key, val in res.items():
        print(f"{key:26s} {val:.4g}" if isinstance(val, float) else f"{key:26s} {val}")


if __name__ == "__main__":
    main()
