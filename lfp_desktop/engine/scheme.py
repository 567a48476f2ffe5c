"""Fingerprint schemes: the PCA basis of the fingerprinted latent (W of a StyleGAN2, the final
DDIM latent z₀ of a latent diffusion model) and the key layout, computed once per base model,
saved with the model's SHA-256 and always reused (never recomputed).

A scheme file is a zip of .npy arrays plus ``metadata.json`` (see :func:`save_scheme`);
it is written deterministically, so the same scheme gives the same bytes. Format 1 (one
component per bit, a full basis) is still written for such schemes, so their bytes never
change; format 2 adds ``repeat`` (components per bit) and a partial basis (``n_components``
< d, the rest of the space summarised by ``residual_std``), used for LDMs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lfp_desktop.errors import SchemeError

if TYPE_CHECKING:  # pragma: no cover
    import torch

SCHEME_FORMAT = 2  # the newest format this version writes
READABLE_FORMATS = (1, 2)
ENCODINGS = ("01", "pm1")
_ARRAYS = ("mean", "components", "stds")
_MAX_SCHEME_BYTES = 512 * 1024 ** 2


@dataclass(frozen=True, eq=False)
class Scheme:
    """PCA of the fingerprinted latents plus the key layout.

    mean (d,), components (M, d) orthonormal rows sorted by descending variance (M = d for
    a full basis), stds (M,) per-component standard deviations; all float64. Bit j occupies
    the ``repeat`` consecutive components ``shift + repeat·j …``; ``V`` is those K·repeat rows
    and ``U`` every other direction: the remaining stored rows, then (when M < d) an
    orthonormal basis of the unstored rest of the space, whose std is ``residual_std``.
    """

    mean: np.ndarray
    components: np.ndarray
    stds: np.ndarray
    key_len: int
    shift: int
    sigma: float
    checkpoint_sha256: str
    encoding: str = "01"
    model_kind: str = "stylegan2"
    generator_config: dict[str, Any] = field(default_factory=dict)
    n_samples: int = 0
    seed: int = 0
    truncation: float = 1.0
    created_at: str = ""
    sha256: str = ""  # of the file bytes, set when saved or loaded
    repeat: int = 1  # consecutive components per bit (3 in the published LDM code)
    residual_std: float = 0.0  # std along each direction outside the M stored components

    def __post_init__(self) -> None:
        d = self.latent_dim
        if (self.components.ndim != 2 or self.components.shape[1] != d or not 0 < self.components.shape[0] <= d
                or self.stds.shape != (self.components.shape[0],)):
            raise SchemeError(f"scheme arrays have inconsistent shapes: mean {self.mean.shape}, "
                              f"components {self.components.shape}, stds {self.stds.shape}")
        validate_layout(d, self.key_len, self.shift, self.sigma, self.encoding, repeat=self.repeat,
                        n_components=self.n_components)
        if not np.isfinite(self.residual_std) or self.residual_std < 0:
            raise SchemeError(f"residual std must be a non-negative number, got {self.residual_std}")

    @property
    def latent_dim(self) -> int:
        return int(self.mean.shape[0])

    @property
    def n_components(self) -> int:
        """Number of stored principal components M (≤ d)."""
        return int(self.components.shape[0])

    @property
    def key_width(self) -> int:
        """Components the key occupies: K · repeat."""
        return self.key_len * self.repeat

    @property
    def key_index(self) -> np.ndarray:
        return np.arange(self.shift, self.shift + self.key_width)

    @property
    def free_index(self) -> np.ndarray:
        """Stored components outside the key."""
        return np.setdiff1d(np.arange(self.n_components), self.key_index)

    @property
    def V(self) -> np.ndarray:
        """Fingerprint components, (K·repeat, d) orthonormal rows (bit j owns rows j·r … j·r + r − 1)."""
        return self.components[self.key_index]

    @property
    def key_directions(self) -> np.ndarray:
        """Direction each bit moves the latent along: the sum of its components, (K, d)."""
        return self.V.reshape(self.key_len, self.repeat, self.latent_dim).sum(axis=1)

    @cached_property
    def _rest(self) -> np.ndarray:
        """Orthonormal basis of the space orthogonal to every stored component, (d − M, d)."""
        m, d = self.components.shape
        if m == d:
            return np.zeros((0, d))
        q, _ = np.linalg.qr(self.components.T, mode="complete")
        return np.ascontiguousarray(q[:, m:].T)

    @property
    def U(self) -> np.ndarray:
        """The complementary basis, (d − K·repeat, d) orthonormal rows."""
        return np.concatenate([self.components[self.free_index], self._rest])

    @property
    def free_stds(self) -> np.ndarray:
        """Std of the latents along each row of U, (d − K·repeat,)."""
        rest = np.full(self.latent_dim - self.n_components, self.residual_std)
        return np.concatenate([self.stds[self.free_index], rest])

    def encode_bits(self, bits: np.ndarray) -> np.ndarray:
        """Bits {0,1} (..., K) → the coefficients added along the key directions (before σ)."""
        return self.encode_soft(np.asarray(bits, dtype=np.float64))

    def encode_soft(self, probs: Any) -> Any:
        """The same map for bit probabilities in [0, 1] (an array or a tensor, kept as is):
        p for {0, 1} keys, 2p − 1 for ±1 keys."""
        return probs if self.encoding == "01" else 2.0 * probs - 1.0

    def embed(self, w: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """w_k = μ + P_U (w − μ) + σ Vᵀ enc(k)_r (each bit repeated ``repeat`` times);
        w (B, d), bits (K,) or (B, K) → (B, d) float64."""
        w = np.asarray(w, dtype=np.float64)
        centred = w - self.mean
        off_key = centred - (centred @ self.V.T) @ self.V
        return self.mean + off_key + self.sigma * (self.encode_bits(bits) @ self.key_directions)

    def key_coordinates(self, w: np.ndarray) -> np.ndarray:
        """V (w − μ) / σ averaged over each bit's components: equals enc(k) exactly for an
        embedded latent; (B, K)."""
        coords = (np.asarray(w, dtype=np.float64) - self.mean) @ self.V.T / self.sigma
        return coords.reshape(*coords.shape[:-1], self.key_len, self.repeat).mean(axis=-1)

    def torch_basis(self, device: "torch.device | str", dtype: "torch.dtype | None" = None) -> dict[str, "torch.Tensor"]:
        """μ (d,), V (K, d) the key directions, U (d − K·repeat, d), free_stds (d − K·repeat,)
        as tensors on a device; μ + αU + σ·c V is then the latent for coefficients c (K,)."""
        import torch

        dt = dtype or torch.float32
        return {name: torch.as_tensor(np.ascontiguousarray(arr), dtype=dt, device=device)
                for name, arr in (("mean", self.mean), ("V", self.key_directions), ("U", self.U),
                                  ("free_stds", self.free_stds))}

    @property
    def format_version(self) -> int:
        """1 for one component per bit over a full basis (bytes as older versions wrote them), else 2."""
        return 1 if self.repeat == 1 and self.n_components == self.latent_dim else SCHEME_FORMAT

    def metadata(self) -> dict[str, Any]:
        meta = {
            "format": "lfp-scheme", "format_version": self.format_version, "model_kind": self.model_kind,
            "key_len": self.key_len, "shift": self.shift, "sigma": self.sigma,
            "encoding": self.encoding, "latent_dim": self.latent_dim,
            "checkpoint_sha256": self.checkpoint_sha256, "generator_config": self.generator_config,
            "n_samples": self.n_samples, "seed": self.seed, "truncation": self.truncation,
            "created_at": self.created_at,
        }
        if self.format_version >= 2:
            meta.update(repeat=self.repeat, n_components=self.n_components, residual_std=self.residual_std)
        return meta

    def with_layout(self, *, key_len: int | None = None, shift: int | None = None,
                    sigma: float | None = None, encoding: str | None = None,
                    repeat: int | None = None) -> "Scheme":
        """Same PCA, another key layout (the file hash is cleared)."""
        return replace(self, key_len=self.key_len if key_len is None else key_len,
                       shift=self.shift if shift is None else shift,
                       sigma=self.sigma if sigma is None else sigma,
                       encoding=self.encoding if encoding is None else encoding,
                       repeat=self.repeat if repeat is None else repeat, sha256="")


def validate_layout(latent_dim: int, key_len: int, shift: int, sigma: float, encoding: str = "01", *,
                    repeat: int = 1, n_components: int | None = None) -> None:
    """Raise SchemeError with the reason if a key layout is impossible.

    The key occupies components shift … shift + key_len·repeat − 1 of the n_components
    (default latent_dim) stored ones.
    """
    if key_len < 1:
        raise SchemeError(f"key length must be at least 1 bit, got {key_len}")
    if repeat < 1:
        raise SchemeError(f"each bit needs at least 1 component (repeat ≥ 1), got {repeat}")
    if shift < 0:
        raise SchemeError(f"shift must be ≥ 0, got {shift}")
    width, limit = key_len * repeat, latent_dim if n_components is None else n_components
    if width + shift > limit:
        used = f"key length {key_len}" + (f" × repeat {repeat}" if repeat > 1 else "")
        where = (f"the latent dimension {latent_dim}" if limit == latent_dim
                 else f"the {limit} principal components kept (latent dimension {latent_dim})")
        raise SchemeError(f"{used} + shift {shift} = {width + shift} exceeds {where}; "
                          f"use shift ≤ {max(limit - width, 0)}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise SchemeError(f"sigma must be a positive number, got {sigma}")
    if encoding not in ENCODINGS:
        raise SchemeError(f"bit encoding must be one of {ENCODINGS}, got {encoding!r}")


def pca(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float64 PCA of (N, d) samples → mean (d,), components (d, d) rows by descending
    variance with a fixed sign (largest-magnitude entry positive), stds (d,)."""
    x = np.asarray(samples, dtype=np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / (x.shape[0] - 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    comps = evecs[:, order].T.copy()
    signs = np.sign(comps[np.arange(comps.shape[0]), np.abs(comps).argmax(axis=1)])
    comps *= signs[:, None]
    return mean, comps, np.sqrt(np.clip(evals[order], 0.0, None))


def sample_latents(generator: Any, n: int, seed: int, *, truncation: float = 1.0,
                   batch: int = 2048) -> np.ndarray:
    """n mapped latents w = f(z), z ~ N(0, I) from a seeded CPU RNG; float64 (n, d)."""
    import torch

    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    d = generator.config.style_dim
    out = np.empty((n, d), dtype=np.float64)
    with torch.no_grad():
        for start in range(0, n, batch):
            m = min(batch, n - start)
            z = torch.randn(m, d, generator=gen).to(generator.device)
            out[start:start + m] = generator.mapping(z, truncation=truncation).double().cpu().numpy()
    return out


def create_scheme(generator: Any, *, key_len: int, shift: int | None = None, sigma: float = 1.0,
                  n_samples: int = 10_000, seed: int = 0, encoding: str = "01",
                  truncation: float = 1.0) -> Scheme:
    """PCA of ``n_samples`` mapped latents of a loaded generator and a key layout.

    shift defaults to d − K (the K lowest-variance components).
    """
    d = generator.config.style_dim
    shift = d - key_len if shift is None else shift
    validate_layout(d, key_len, shift, sigma, encoding)
    if n_samples <= d:
        raise SchemeError(f"the PCA needs more samples than latent dimensions ({d}); got {n_samples}")
    if not generator.sha256:
        raise SchemeError("the generator has no checkpoint hash; load it from a file first")
    mean, comps, stds = pca(sample_latents(generator, n_samples, seed, truncation=truncation))
    created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    return Scheme(mean=mean, components=comps, stds=stds, key_len=key_len, shift=shift,
                  sigma=float(sigma), checkpoint_sha256=generator.sha256, encoding=encoding,
                  generator_config=generator.config.to_dict(), n_samples=n_samples, seed=seed,
                  truncation=truncation, created_at=created)


def scheme_to_bytes(scheme: Scheme) -> bytes:
    """Deterministic zip: metadata.json + mean.npy, components.npy, stds.npy."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        def put(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)

        put("metadata.json", json.dumps(scheme.metadata(), sort_keys=True, indent=1).encode())
        for name in _ARRAYS:
            arr = io.BytesIO()
            np.lib.format.write_array(arr, np.ascontiguousarray(getattr(scheme, name), dtype="<f8"),
                                      allow_pickle=False)
            put(f"{name}.npy", arr.getvalue())
    return buf.getvalue()


def save_scheme(scheme: Scheme, path: str | Path) -> Scheme:
    """Write the scheme file; returns the scheme with its file SHA-256 set."""
    data = scheme_to_bytes(scheme)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return replace(scheme, sha256=hashlib.sha256(data).hexdigest())


def _read_zip(data: bytes, origin: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
        missing = [n for n in ["metadata.json"] + [f"{a}.npy" for a in _ARRAYS] if n not in names]
        if missing:
            raise SchemeError(f"{origin} is not an LFP scheme file (missing {', '.join(missing)})")
        for info in zf.infolist():
            if info.file_size > _MAX_SCHEME_BYTES:
                raise SchemeError(f"{origin}: member {info.filename} is implausibly large")
        meta = json.loads(zf.read("metadata.json").decode("utf-8"))
        arrays = {a: np.lib.format.read_array(io.BytesIO(zf.read(f"{a}.npy")), allow_pickle=False)
                  for a in _ARRAYS}
    except SchemeError:
        raise
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError) as exc:
        raise SchemeError(f"{origin} is not a readable LFP scheme file ({exc}); "
                          "create one with 'lfp scheme create'") from exc
    if not isinstance(meta, dict) or meta.get("format") != "lfp-scheme":
        raise SchemeError(f"{origin} is not an LFP scheme file (wrong metadata)")
    if meta.get("format_version") not in READABLE_FORMATS:
        raise SchemeError(f"{origin} has scheme format version {meta.get('format_version')}; this "
                          f"version of LFP Desktop reads versions {', '.join(map(str, READABLE_FORMATS))}; "
                          "update the application")
    return meta, arrays


def scheme_from_bytes(data: bytes, *, origin: str = "scheme", checkpoint_sha256: str | None = None) -> Scheme:
    """Parse scheme file bytes; refuse a scheme made for another checkpoint when one is given."""
    meta, arrays = _read_zip(data, origin)
    try:
        scheme = Scheme(
            mean=arrays["mean"].astype(np.float64), components=arrays["components"].astype(np.float64),
            stds=arrays["stds"].astype(np.float64), key_len=int(meta["key_len"]), shift=int(meta["shift"]),
            sigma=float(meta["sigma"]), checkpoint_sha256=str(meta["checkpoint_sha256"]),
            encoding=str(meta.get("encoding", "01")), model_kind=str(meta.get("model_kind", "stylegan2")),
            generator_config=dict(meta.get("generator_config") or {}), n_samples=int(meta.get("n_samples", 0)),
            seed=int(meta.get("seed", 0)), truncation=float(meta.get("truncation", 1.0)),
            created_at=str(meta.get("created_at", "")), sha256=hashlib.sha256(data).hexdigest(),
            repeat=int(meta.get("repeat", 1)), residual_std=float(meta.get("residual_std", 0.0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemeError(f"{origin} has invalid metadata ({exc})") from exc
    if not np.all(np.isfinite(scheme.components)) or not np.all(np.isfinite(scheme.mean)):
        raise SchemeError(f"{origin} contains non-finite numbers")
    if checkpoint_sha256 is not None and checkpoint_sha256 != scheme.checkpoint_sha256:
        raise SchemeError(
            f"the scheme {origin} was made for checkpoint {scheme.checkpoint_sha256[:16]}…, but the "
            f"loaded checkpoint is {checkpoint_sha256[:16]}…; load the checkpoint the scheme belongs "
            f"to (full hashes: scheme {scheme.checkpoint_sha256}, checkpoint {checkpoint_sha256})")
    return scheme


def load_scheme(path: str | Path, *, checkpoint_sha256: str | None = None) -> Scheme:
    """Read a scheme file (see :func:`scheme_from_bytes`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SchemeError(f"scheme file {path} could not be read ({exc.strerror or exc})") from exc
    return scheme_from_bytes(data, origin=str(path), checkpoint_sha256=checkpoint_sha256)


def load_scheme_metadata(path: str | Path) -> dict[str, Any]:
    """The scheme's metadata plus ``sha256`` of the file (no torch needed)."""
    s = load_scheme(path)
    meta = s.metadata()
    meta["sha256"] = s.sha256
    return meta
