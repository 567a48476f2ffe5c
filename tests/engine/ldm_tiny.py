"""A tiny randomly initialised latent diffusion model, saved in the diffusers folder layout."""

from __future__ import annotations

from pathlib import Path

import torch

LATENT_SHAPE = (3, 8, 8)  # z₀ of the tiny model: d = 192
IMAGE_SIZE = 32


def save_tiny_ldm(folder: Path, *, seed: int = 0, autoencoder: str = "vq") -> Path:
    """Write unet/, vqvae/ (or vae/), scheduler/ and model_index.json under ``folder``.

    The UNet's output is scaled down so DDIM latents stay of moderate size, and the VQ
    codebook is spread over the latents' range (a fresh codebook sits within ±1/n of 0).
    """
    from diffusers import DDIMScheduler, LDMPipeline, UNet2DModel, VQModel

    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(16, 32),
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       norm_num_groups=8)
    with torch.no_grad():
        unet.conv_out.weight.mul_(0.05)
    scheduler = DDIMScheduler(beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False)
    ae_kw = {"in_channels": 3, "out_channels": 3, "block_out_channels": (8, 16, 16), "layers_per_block": 1,
             "latent_channels": 3, "sample_size": IMAGE_SIZE, "norm_num_groups": 8, "scaling_factor": 4.0}
    if autoencoder == "vq":
        ae = VQModel(down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                     num_vq_embeddings=4096, vq_embed_dim=3, **ae_kw)
        with torch.no_grad():
            ae.quantize.embedding.weight.normal_(0.0, 1.5)
        LDMPipeline(vqvae=ae, unet=unet, scheduler=scheduler).save_pretrained(folder)
    else:
        from diffusers import AutoencoderKL

        ae = AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                           **ae_kw)
        for name, part in (("unet", unet), ("vae", ae), ("scheduler", scheduler)):
            part.save_pretrained(folder / name)
    return folder
