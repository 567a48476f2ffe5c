"""The paper's evaluation protocol: F random fingerprints × M samples each, per
post-process, every image passing through an 8-bit PNG/JPEG file as evidence would."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lfp_desktop.analysis import ModelContext, PlainKeys, analyse
from lfp_desktop.casework.intake import EvidenceImage, read_evidence
from lfp_desktop.demo.pictures import render_pictures
from lfp_desktop.engine import postprocess
from lfp_desktop.engine.attribution import AttributionSettings
from lfp_desktop.engine.fingerprint import generate
from lfp_desktop.engine.matching import DecisionPolicy


@dataclass(frozen=True)
class EvalPlan:
    fingerprints: int = 10
    samples: int = 2
    unfingerprinted: int = 0  # base-model images checked for false attributions
    pictures: int = 0  # non-generated pictures (demo renderer) checked for false attributions
    registry_size: int = 1000  # the F fingerprints plus random others
    postprocesses: tuple[str, ...] = ("none",)
    seed: int = 0
    batch_images: int = 8


def _write_and_read(img: np.ndarray, name: str, folder: Path, as_jpeg: bytes | None) -> EvidenceImage:
    path = folder / (name + (".jpg" if as_jpeg is not None else ".png"))
    if as_jpeg is not None:
        path.write_bytes(as_jpeg)
    else:
        from PIL import Image

        Image.fromarray(img).save(path)
    return read_evidence(path)


def _evidence(name: str, img: np.ndarray, pp: str, rng: np.random.Generator, folder: Path) -> EvidenceImage:
    """Apply a post-process and pass the result through a file; JPEG stays a real .jpg."""
    if pp in ("jpeg", "combo"):
        pre = img if pp == "jpeg" else postprocess.apply("blur", postprocess.apply("noise", img, rng).image, rng).image
        q = int(rng.choice(postprocess.JPEG_QUALITIES))
        return _write_and_read(pre, name, folder, postprocess.jpeg_bytes(pre, q))
    return _write_and_read(postprocess.apply(pp, img, rng).image, name, folder, None)


def evaluate(generator: Any, scheme: Any, plan: EvalPlan, *, settings: AttributionSettings = AttributionSettings(),
             policy: DecisionPolicy = DecisionPolicy(),
             progress: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Run the protocol; returns {post-process: metrics} with full_key_accuracy, bit_accuracy,
    identification_accuracy, verdict counts, false_attributions and seconds_per_image."""
    rng = np.random.default_rng(plan.seed)
    k = scheme.key_len
    true_keys = rng.integers(0, 2, (plan.fingerprints, k), dtype=np.uint8)
    others = rng.integers(0, 2, (max(plan.registry_size - plan.fingerprints, 0), k), dtype=np.uint8)
    keys = PlainKeys.from_bits(np.concatenate([true_keys, others]))
    ctx = ModelContext(generator=generator, scheme=scheme, keys=keys, name="evaluation")
    seeds = [int(s) for s in rng.integers(0, 2 ** 31 - 1, plan.fingerprints * plan.samples)]
    owners = np.repeat(np.arange(plan.fingerprints), plan.samples)
    clean = generate(generator, scheme, true_keys[owners], seeds).images
    base = (generate(generator, scheme, None, [int(s) for s in rng.integers(0, 2 ** 31 - 1, plan.unfingerprinted)]).images
            if plan.unfingerprinted else np.zeros((0,) + clean.shape[1:], np.uint8))
    pictures = render_pictures(plan.pictures, size=clean.shape[1], seed=plan.seed)
    report: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="lfp-eval-") as tmp:
        folder = Path(tmp)
        for pp in plan.postprocesses:
            pp_rng = np.random.default_rng([plan.seed, postprocess.POSTPROCESSES.index(pp)])
            imgs = [_evidence(f"{pp}_{i}", im, pp, pp_rng, folder) for i, im in enumerate(clean)]
            base_imgs = [_evidence(f"{pp}_base_{i}", im, pp, pp_rng, folder) for i, im in enumerate(base)]
            pic_imgs = [_evidence(f"{pp}_picture_{i}", im, pp, pp_rng, folder) for i, im in enumerate(pictures)]
            t0 = time.perf_counter()
            res = _run(ctx, imgs + base_imgs + pic_imgs, settings, policy, plan.batch_images, progress, pp)
            elapsed = time.perf_counter() - t0
            n, nb = len(imgs), len(base_imgs)
            report[pp] = _metrics(res[:n], res[n:n + nb], res[n + nb:], true_keys, owners, keys, elapsed)
    return report


def _run(ctx: ModelContext, images: Sequence[EvidenceImage], settings: AttributionSettings, policy: DecisionPolicy,
         batch: int, progress: Callable[[str], None] | None, label: str) -> list:
    out = []
    for start in range(0, len(images), batch):
        part = images[start:start + batch]
        out += analyse(ctx, [ev.rgb for ev in part], settings=settings, policy=policy,
                       jpeg=[ev.jpeg_grid for ev in part])
        if progress:
            progress(f"{label}: {len(out)}/{len(images)} images")
    return out


def _metrics(fp: list, base: list, pictures: list, true_keys: np.ndarray, owners: np.ndarray, keys: PlainKeys,
             elapsed: float) -> dict[str, Any]:
    decoded = np.stack([a.attribution.bits for a in fp]) if fp else np.zeros((0, true_keys.shape[1]), np.uint8)
    truth = true_keys[owners]
    verdicts = Counter(a.verdict for a in fp)
    correct = [a.verdict == "ATTRIBUTED" and a.user_id == int(keys.user_ids[o]) for a, o in zip(fp, owners)]
    wrong = [a.verdict == "ATTRIBUTED" and a.user_id != int(keys.user_ids[o]) for a, o in zip(fp, owners)]
    n_all = len(fp) + len(base) + len(pictures)
    base_false = int(sum(a.verdict == "ATTRIBUTED" for a in base))
    picture_false = int(sum(a.verdict == "ATTRIBUTED" for a in pictures))
    return {
        "images": len(fp),
        "full_key_accuracy": float((decoded == truth).all(axis=1).mean()) if len(fp) else None,
        "bit_accuracy": float((decoded == truth).mean()) if len(fp) else None,
        "identification_accuracy": float(np.mean(correct)) if fp else None,
        "wrong_user_attributions": int(np.sum(wrong)),
        "verdicts": dict(verdicts),
        "unfingerprinted_images": len(base),
        "non_generated_pictures": len(pictures),
        "false_attributions": base_false + picture_false,  # over both kinds of image without a key
        "unfingerprinted_false_attributions": base_false,
        "picture_false_attributions": picture_false,
        "unkeyed_verdicts": dict(Counter(a.verdict for a in base + pictures)),
        "median_hamming_distance": float(np.median([a.decision.match.distance for a in fp])) if fp else None,
        "seconds_per_image": elapsed / n_all if n_all else None,
        "median_steps": float(np.median([a.attribution.steps_run for a in fp + base + pictures])) if n_all else None,
    }
