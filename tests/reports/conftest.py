"""Report fixtures: a realistic case built from a real (small) multi-start key search.

The key search is a linear stand-in for the generator: the image is ``A @ [alpha; k] + noise``
and Adam recovers the key logits from several starts, so the loss curves, per-bit confidence,
start agreement and early stops are produced by an actual optimisation, not typed in.
"""

from __future__ import annotations

import functools
import hashlib
import io
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy.stats import binom

from lfp_desktop.reports.model import (BatchItem, BatchReportData, CaseInfo, CustodyEntry,
                                       EvidenceInfo, MethodInfo, ReportData, ResultInfo)
from lfp_desktop.reports.render import render_report
from lfp_desktop.reports.signing import ensure_lab_identity

K, FREE, PIXELS, STARTS, STEPS, USERS = 64, 32, 160, 8, 300, 200
T0 = datetime(2025, 3, 14, 9, 30, 0, tzinfo=timezone.utc)


def key_search(seed: int, noise: float) -> dict[str, np.ndarray]:
    """Multi-start Adam on (alpha, kappa); returns curves, logits and the true key."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(PIXELS, FREE + K)) / np.sqrt(PIXELS)
    true_key = rng.integers(0, 2, K)
    x = a @ np.concatenate([rng.normal(size=FREE), true_key]) + noise * rng.normal(size=PIXELS)
    params = np.concatenate([rng.uniform(-1, 1, (STARTS, FREE)), np.zeros((STARTS, K))], 1)
    m, v = np.zeros_like(params), np.zeros_like(params)
    curves = np.full((STEPS, STARTS), np.nan)
    active = np.ones(STARTS, bool)
    for step in range(STEPS):
        s = 1 / (1 + np.exp(-params[:, FREE:]))
        resid = np.concatenate([params[:, :FREE], s], 1) @ a.T - x
        curves[step, active] = np.mean(resid ** 2, 1)[active]
        grad = 2 / PIXELS * resid @ a
        grad[:, FREE:] *= s * (1 - s)
        m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad ** 2
        lr = 0.2 * np.exp(-0.001 * (step + 1))
        upd = lr * (m / (1 - 0.9 ** (step + 1))) / (np.sqrt(v / (1 - 0.999 ** (step + 1))) + 1e-8)
        params[active] -= upd[active]
        if step > 60:  # early stopping on a flat loss, as the engine does
            flat = np.abs(curves[step - 40] - curves[step]) < 2e-3 * curves[step]
            active &= ~flat
    return {"curves": curves, "kappa": params[:, FREE:], "true_key": true_key}


def make_images(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A drawn 128x128 portrait-like scene, a blurred reconstruction and their difference."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:128, 0:128]
    img = np.stack([80 + xx * 0.8, 110 + yy * 0.5, 150 - xx * 0.3], -1).astype(np.uint8)
    cv2.ellipse(img, (64, 70), (34, 44), 0, 0, 360, (196, 160, 140), -1)
    cv2.ellipse(img, (64, 34), (38, 18), 0, 180, 360, (60, 40, 30), -1)
    for cx in (50, 78):
        cv2.circle(img, (cx, 62), 5, (255, 255, 255), -1)
        cv2.circle(img, (cx, 62), 2, (40, 60, 90), -1)
    cv2.ellipse(img, (64, 92), (12, 5), 0, 0, 180, (150, 60, 70), 2)
    noisy = img.astype(np.int16) + rng.normal(0, 4, img.shape).astype(np.int16)
    suspect = np.clip(noisy, 0, 255).astype(np.uint8)
    recon = cv2.GaussianBlur(img, (5, 5), 1.2)
    diff = np.clip(np.abs(suspect.astype(np.int16) - recon) * 4, 0, 255).astype(np.uint8)
    return suspect, recon, diff


def custody_chain(n: int) -> tuple[CustodyEntry, ...]:
    """Hash-chained custody entries."""
    actions = [("intake", "received by upload; SHA-256 verified"),
               ("attribute", "attribution run on cpu, 8 starts"),
               ("review", "result reviewed by second analyst"),
               ("export", "report exported")]
    prev, out = "0" * 64, []
    for i in range(n):
        action, detail = actions[i % len(actions)]
        t = T0 + timedelta(minutes=7 * i)
        h = hashlib.sha256(f"{prev}|{t.isoformat()}|{action}|{detail}".encode()).hexdigest()
        out.append(CustodyEntry(t, "j.doe" if i % 2 == 0 else "a.smith", action, detail, h))
        prev = h
    return tuple(out)


def build_report(verdict: str = "ATTRIBUTED", seed: int = 3) -> ReportData:
    """A complete ReportData; ``verdict`` picks how the decoded key relates to the registry."""
    noise = {"ATTRIBUTED": 0.02, "INCONCLUSIVE": 0.5, "NO MATCH": 0.02}[verdict]
    run = key_search(seed, noise)
    winner = int(np.nanargmin(np.array([c[np.isfinite(c)][-1] for c in run["curves"].T])))
    prob = 1 / (1 + np.exp(-run["kappa"]))
    decoded = (prob[winner] > 0.5).astype(np.uint8)
    rng = np.random.default_rng(seed + 100)
    keys = rng.integers(0, 2, (USERS, K)).astype(np.uint8)
    if verdict != "NO MATCH":
        keys[17] = run["true_key"]
    dist = np.sum(keys != decoded, 1)
    order = np.argsort(dist, kind="stable")
    d1, d2 = int(dist[order[0]]), int(dist[order[1]])
    p = float(-np.expm1(USERS * np.log1p(-binom.cdf(d1, K, 0.5))))
    suspect, recon, diff = make_images(seed)
    thumb = io.BytesIO()
    Image.fromarray(suspect).resize((96, 96)).save(thumb, "PNG")
    finals = np.array([c[np.isfinite(c)][-1] for c in run["curves"].T])
    named = verdict != "NO MATCH"
    result = ResultInfo(
        verdict=verdict, key_length=K, registry_size=USERS, decoded_bits=decoded,
        bit_confidence=np.abs(prob[winner] - 0.5),
        start_agreement=np.mean((prob > 0.5) == decoded.astype(bool), 0),
        user_id=str(order[0]) if named else None, user_name=f"user-{order[0]}" if named else None,
        d1=d1, d2=d2, runner_up_name=f"user-{order[1]}", margin=d2 - d1, p_value=p,
        matched_key_bits=keys[order[0]] if named else None, winning_start=winner,
        final_losses=finals, loss_curves=run["curves"], reconstruction_distance=float(finals.min()),
        suspect_image=suspect, reconstruction_image=recon, difference_image=diff,
        inconclusive_reasons=(f"{d1} bits differ; the threshold allows at most 7",
                              "the starts disagree on many bits") if verdict == "INCONCLUSIVE"
        else ())
    evidence = EvidenceInfo("suspect_0042.png", 48_213,
                            hashlib.sha256(suspect.tobytes()).hexdigest(), "PNG", 128, 128, T0,
                            "E-0042", ("RGBA to RGB",), thumb.getvalue())
    return ReportData(case=CaseInfo("2025-0117", "Synthetic portraits on a marketplace", "J. Doe",
                                    "Seized from listing #8812."),
                      evidence=evidence, method=method_info(), result=result,
                      created_utc=T0 + timedelta(hours=2), custody=custody_chain(4))


def method_info() -> MethodInfo:
    return MethodInfo("0.1.0", hashlib.sha256(b"checkpoint").hexdigest(),
                      hashlib.sha256(b"scheme").hexdigest(), "registry:" + "ab" * 16,
                      "StyleGAN2 FFHQ-64 (demo)", "pixel", STARTS, STEPS, "cpu", True, 1e-6, 1234)


def build_batch() -> BatchReportData:
    items = [BatchItem(f"img_{i:03d}.png", f"{i:02x}" * 6, v, u, d, p, e)
             for i, (v, u, d, p, e) in enumerate([
                 ("ATTRIBUTED", "alice", 2, 3.1e-12, ""), ("ATTRIBUTED", "alice", 0, 1.1e-17, ""),
                 ("ATTRIBUTED", "bob", 4, 2.2e-9, ""), ("NO MATCH", None, 27, 0.98, ""),
                 ("INCONCLUSIVE", "carol", 12, 4.0e-4, ""),
                 (None, None, None, None, "not an image: file is truncated")])]
    return BatchReportData(CaseInfo("2025-0117", "Marketplace sweep", "J. Doe"), method_info(),
                           tuple(items), T0 + timedelta(hours=3))


FINGERPRINT = "ab" * 32


@functools.lru_cache(maxsize=None)
def rendered(verdict: str = "ATTRIBUTED", paper: str = "a4") -> bytes:
    """Unsigned PDF of ``build_report(verdict)``, rendered once per test run."""
    return render_report(build_report(verdict), cert_fingerprint=FINGERPRINT, paper=paper)


@pytest.fixture(scope="session")
def report_data() -> ReportData:
    return build_report()


@pytest.fixture(scope="session")
def lab_identity(tmp_path_factory):
    """One lab identity per test run (RSA key generation is the slow part)."""
    return ensure_lab_identity(tmp_path_factory.mktemp("signing"), key_size=2048,
                               common_name="LFP Desktop test lab")
