"""A tiny real workspace for GUI tests: a 16 px random-weight generator saved to a file, its
scheme inside a real registry file, and evidence images made with registered keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

KEY_LEN = 16
USERS = ("alice.adams", "bruno.berg", "chiara.costa", "dmitri.dubois", "elena.eriksen", "farid.fischer")


@dataclass(frozen=True)
class TinyWorkspace:
    registry_path: Path
    checkpoint_path: Path
    other_checkpoint_path: Path  # a different generator: its hash does not match the registry
    evidence_dir: Path
    images: dict[str, str]  # file name -> user name ('' for an unfingerprinted image)


def build_tiny_workspace(root: Path) -> TinyWorkspace:
    """Create every file under ``root`` (a few seconds on one core)."""
    from PIL import Image

    from lfp_desktop.engine.fingerprint import generate
    from lfp_desktop.engine.scheme import scheme_to_bytes
    from lfp_desktop.registry import Registry
    from tests.engine.tiny import tiny_generator, tiny_scheme

    root.mkdir(parents=True, exist_ok=True)
    gen = tiny_generator(root)
    (root / "other").mkdir()
    other = tiny_generator(root / "other", seed=1)
    scheme = tiny_scheme(gen, key_len=KEY_LEN, shift=8, sigma=3.0)
    registry_path = root / "tiny.lfpreg"
    with Registry.create(registry_path, scheme_bytes=scheme_to_bytes(scheme), scheme_name="tiny faces 16 px",
                         key_len=KEY_LEN, actor="test", min_distance=4) as reg:
        reg.enroll_many(list(USERS), actor="test", rng=np.random.default_rng(3))
        keys = reg.load_keys()
    bits = np.unpackbits(keys.packed, axis=1)[:, :KEY_LEN]
    evidence = root / "evidence"
    evidence.mkdir()
    images: dict[str, str] = {}
    for idx, seeds in ((0, [11, 12]), (1, [21])):
        for j, img in enumerate(generate(gen, scheme, bits[idx], seeds).images):
            name = f"{USERS[idx]}_{j + 1}.png"
            Image.fromarray(img).save(evidence / name)
            images[name] = USERS[idx]
    plain = generate(gen, scheme, None, [99]).images[0]
    Image.fromarray(plain).save(evidence / "plain_1.png")
    images["plain_1.png"] = ""
    return TinyWorkspace(registry_path, Path(gen.source), Path(other.source), evidence, images)


def write_corrupt_png(path: Path) -> Path:
    """A file named .png that holds a truncated PNG (header, then garbage)."""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3)
    return path


@dataclass(frozen=True)
class SecondModel:
    registry_path: Path
    checkpoint_path: Path
    image_32: Path  # a 32×32 image made by this model (the 16 px model fits it too)


def build_second_model(root: Path) -> SecondModel:
    """A 32 px generator with its own scheme and a three-user registry."""
    from PIL import Image

    from lfp_desktop.engine.fingerprint import generate
    from lfp_desktop.engine.scheme import scheme_to_bytes
    from lfp_desktop.registry import Registry
    from tests.engine.tiny import tiny_generator, tiny_scheme

    root.mkdir(parents=True, exist_ok=True)
    gen = tiny_generator(root, size=32, seed=2)
    scheme = tiny_scheme(gen, key_len=KEY_LEN, shift=8, sigma=3.0)
    registry_path = root / "cats.lfpreg"
    with Registry.create(registry_path, scheme_bytes=scheme_to_bytes(scheme), scheme_name="tiny cats 32 px",
                         key_len=KEY_LEN, actor="test", min_distance=4) as reg:
        reg.enroll_many(["gina.garcia", "hiro.hansen", "ines.ivanova"], actor="test", rng=np.random.default_rng(4))
        keys = reg.load_keys()
    bits = np.unpackbits(keys.packed, axis=1)[0, :KEY_LEN]
    image = root / "cat_1.png"
    Image.fromarray(generate(gen, scheme, bits, [5]).images[0]).save(image)
    return SecondModel(registry_path, Path(gen.source), image)
