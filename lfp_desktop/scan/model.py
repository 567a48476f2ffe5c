"""The model a scan runs: a registry (its scheme and keys) and the generator checkpoint,
read once and kept as bytes so that workers on other machines can rebuild it (a model
folder, e.g. a latent diffusion model, travels by path: every node must have it)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfp_desktop.errors import CheckpointError, LFPError, SchemeError


@dataclass(frozen=True)
class ModelBundle:
    """A (registry, checkpoint) pair as plain data. ``size`` is the generator's resolution in
    pixels; ``checkpoint_bytes`` the checkpoint file's bytes (empty for a model folder);
    ``identity`` (checkpoint SHA-256, scheme SHA-256, registry digest) is what makes two
    results comparable, and what a resumed scan looks for."""

    name: str
    size: int
    key_len: int
    checkpoint_path: str
    checkpoint_sha256: str
    checkpoint_bytes: bytes = field(repr=False)
    scheme_sha256: str
    scheme_bytes: bytes = field(repr=False)
    keys: Any = field(repr=False)  # registry KeySet
    registry_path: str = ""

    @property
    def registry_digest(self) -> str:
        return str(self.keys.digest)

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.checkpoint_sha256, self.scheme_sha256, self.registry_digest)

    def context(self, device: str = "auto") -> Any:
        """A ModelContext on ``device``: the generator is loaded from the original file when
        it is there with the same SHA-256, else from the bundled bytes."""
        from lfp_desktop.analysis import ModelContext
        from lfp_desktop.engine.scheme import scheme_from_bytes

        generator = self._generator(device)
        scheme = scheme_from_bytes(self.scheme_bytes, origin=f"the scheme of {self.name}",
                                   checkpoint_sha256=generator.sha256)
        ctx = ModelContext(generator=generator, scheme=scheme, keys=self.keys, name=self.name,
                           registry_digest=self.registry_digest)
        ctx.check()
        return ctx

    def _generator(self, device: str) -> Any:
        from lfp_desktop.engine.checkpoint import load_generator

        if os.path.exists(self.checkpoint_path):
            try:
                gen = load_generator(self.checkpoint_path, device=device)
            except CheckpointError:
                gen = None
            if gen is not None and gen.sha256 == self.checkpoint_sha256:
                return gen
        if not self.checkpoint_bytes:  # a model folder travels by path only
            raise CheckpointError(f"the model folder {self.checkpoint_path} is missing or different on this "
                                  "worker's computer; put the same folder at the same path on every node")
        # This machine does not see the file (another node) or sees another one: use our bytes.
        suffix = Path(self.checkpoint_path).suffix or ".pt"
        fd, tmp = tempfile.mkstemp(prefix="lfp-generator-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.checkpoint_bytes)
            gen = load_generator(tmp, device=device)
        finally:
            os.unlink(tmp)
        if gen.sha256 != self.checkpoint_sha256:
            raise CheckpointError("the generator received by this worker does not match the scan's checkpoint")
        gen.source = self.checkpoint_path
        return gen


def read_model(registry_path: str | os.PathLike[str], checkpoint_path: str | os.PathLike[str],
               scheme_path: str | os.PathLike[str] | None = None) -> ModelBundle:
    """Read and check a registry and a checkpoint (loading the generator once on the CPU).

    The scheme comes from the registry, as in the desktop app; ``scheme_path``, when given,
    must be that same scheme. Raises an LFPError naming what does not belong together.
    """
    from lfp_desktop.engine.checkpoint import load_generator
    from lfp_desktop.registry import Registry

    registry_path, checkpoint_path = Path(registry_path), Path(checkpoint_path)
    with Registry.open(registry_path, readonly=True) as reg:
        scheme_bytes, keys, name = reg.scheme_bytes(), reg.load_keys(), reg.scheme_name
    scheme_sha = hashlib.sha256(scheme_bytes).hexdigest()
    if scheme_path is not None:
        _check_scheme_file(Path(scheme_path), scheme_sha, registry_path)
    generator = load_generator(checkpoint_path, device="cpu")
    data = b"" if checkpoint_path.is_dir() else _checkpoint_bytes(checkpoint_path, generator.sha256)
    scheme = registry_scheme(scheme_bytes, generator, registry_path, checkpoint_path)
    if keys.key_len != scheme.key_len:
        raise LFPError(f"registry {registry_path.name} holds {keys.key_len}-bit keys but its scheme uses "
                       f"{scheme.key_len}-bit keys; the registry is damaged")
    return ModelBundle(name=name, size=int(generator.config.size), key_len=int(scheme.key_len),
                       checkpoint_path=str(checkpoint_path.resolve()), checkpoint_sha256=str(generator.sha256),
                       checkpoint_bytes=data, scheme_sha256=scheme_sha, scheme_bytes=scheme_bytes, keys=keys,
                       registry_path=str(registry_path.resolve()))


def _checkpoint_bytes(path: Path, sha256: str) -> bytes:
    """The checkpoint file's bytes, as loaded (a file is small enough to send to every worker)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"checkpoint file {path} could not be read ({exc.strerror or exc})") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise CheckpointError(f"checkpoint file {path} changed while it was being read; try again")
    return data


def _check_scheme_file(path: Path, registry_scheme_sha: str, registry_path: Path) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SchemeError(f"scheme file {path} could not be read ({exc.strerror or exc})") from exc
    if hashlib.sha256(data).hexdigest() != registry_scheme_sha:
        raise SchemeError(f"scheme file {path} is not the scheme registry {registry_path.name} was made for; "
                          "leave out --scheme to use the registry's own scheme")


def registry_scheme(scheme_bytes: bytes, generator: Any, registry_path: Path, checkpoint_path: Path) -> Any:
    """The registry's stored scheme, checked against the loaded generator (its checkpoint hash
    and latent size); raises an LFPError naming the registry and checkpoint that do not match."""
    from lfp_desktop.engine.scheme import scheme_from_bytes

    try:
        scheme = scheme_from_bytes(scheme_bytes, origin=f"the scheme of registry {registry_path.name}",
                                   checkpoint_sha256=generator.sha256)
    except SchemeError as exc:
        raise SchemeError(f"registry {registry_path.name} and checkpoint {checkpoint_path.name} do not "
                          f"belong together: {exc}") from exc
    if scheme.latent_dim != generator.config.style_dim:
        raise LFPError(f"the scheme in {registry_path.name} has {scheme.latent_dim} latent dimensions but "
                       f"the generator has {generator.config.style_dim}; they were not made together")
    return scheme
