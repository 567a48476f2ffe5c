"""The demo workspace: a 1 000-user registry for the bundled demo model and a folder of
demo evidence with a ground-truth manifest. Built offline in seconds by ``lfp demo init``
and by the desktop app on first launch."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lfp_desktop.engine import postprocess
from lfp_desktop.errors import LFPError

DEMO_USERS = 1000
MANIFEST = "manifest.json"
_FIRST = ("alice", "bruno", "chiara", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jonas", "kofi",
          "lena", "mateo", "nadia", "oscar", "priya", "quentin", "rosa", "samir", "tove", "umar", "vera",
          "wen", "ximena", "yusuf", "zoe")
_LAST = ("adams", "berg", "costa", "dubois", "eriksen", "fischer", "garcia", "hansen", "ivanova", "jensen",
         "kowalski", "lindqvist", "moreau", "nakamura", "okafor", "petrov", "quinn", "rossi", "silva",
         "tanaka", "ulrich", "varga", "weber", "xu", "yilmaz", "zimmer")
# (user index, post-processes of that user's evidence images)
_SUSPECTS = ((17, ("none", "none", "jpeg")), (342, ("none", "noise", "blur")), (608, ("none", "combo")),
             (911, ("jpeg", "none")))


@dataclass(frozen=True)
class DemoWorkspace:
    root: Path
    registry_path: Path
    checkpoint_path: Path
    scheme_path: Path
    evidence_dir: Path
    manifest_path: Path

    def manifest(self) -> list[dict]:
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))


def default_root() -> Path:
    from lfp_desktop.config import data_dir

    return data_dir() / "demo"


def demo_names(n: int, seed: int = 0) -> list[str]:
    """n distinct, readable user names (first.last[-k])."""
    rng = np.random.default_rng(seed)
    names, seen = [], set()
    while len(names) < n:
        base = f"{_FIRST[rng.integers(len(_FIRST))]}.{_LAST[rng.integers(len(_LAST))]}"
        name, k = base, 2
        while name in seen:
            name, k = f"{base}-{k}", k + 1
        seen.add(name)
        names.append(name)
    return names


def _paths(root: Path) -> DemoWorkspace:
    from lfp_desktop.resources import resource

    return DemoWorkspace(root=root, registry_path=root / "demo-registry.lfpreg",
                         checkpoint_path=resource("demo", "generator.pt"), scheme_path=resource("demo", "scheme.npz"),
                         evidence_dir=root / "evidence", manifest_path=root / "evidence" / MANIFEST)


def ensure_demo_workspace(root: Path | None = None) -> DemoWorkspace:
    """The demo workspace under ``root`` (default: data dir / demo), built if missing or incomplete."""
    ws = _paths(Path(root) if root else default_root())
    if ws.registry_path.exists() and ws.manifest_path.exists():
        return ws
    return build_demo_workspace(ws.root, force=True)


def build_demo_workspace(root: Path | None = None, *, users: int = DEMO_USERS, seed: int = 0,
                         force: bool = False) -> DemoWorkspace:
    """Create the registry and the evidence folder; refuses to overwrite unless ``force``."""
    from lfp_desktop.engine.checkpoint import load_generator
    from lfp_desktop.engine.scheme import load_scheme
    from lfp_desktop.registry import Registry

    ws = _paths(Path(root) if root else default_root())
    if ws.registry_path.exists() or ws.evidence_dir.exists():
        if not force:
            raise LFPError(f"a demo workspace already exists in {ws.root}; use --force to rebuild it")
        ws.registry_path.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(ws.registry_path) + suffix).unlink(missing_ok=True)
        shutil.rmtree(ws.evidence_dir, ignore_errors=True)
    ws.evidence_dir.mkdir(parents=True, exist_ok=True)
    gen = load_generator(ws.checkpoint_path, device="cpu")
    scheme = load_scheme(ws.scheme_path, checkpoint_sha256=gen.sha256)
    rng = np.random.default_rng(seed)
    names = demo_names(users, seed)
    with Registry.create(ws.registry_path, scheme_bytes=ws.scheme_path.read_bytes(), scheme_name=f"LFP demo faces {gen.config.size} px",
                         key_len=scheme.key_len, actor="lfp demo init") as reg:
        reg.enroll_many(names, actor="lfp demo init", rng=rng)
        keys = reg.load_keys()
    manifest = _write_evidence(gen, scheme, keys, ws.evidence_dir, rng)
    ws.manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return ws


def _write_evidence(gen, scheme, keys, folder: Path, rng: np.random.Generator) -> list[dict]:
    from PIL import Image

    from lfp_desktop.demo.pictures import render_pictures
    from lfp_desktop.engine.fingerprint import format_bits, generate

    entries: list[dict] = []

    def save(img: np.ndarray, stem: str, pp: str, kind: str, user: str | None, key: str | None, seed: int | None) -> None:
        applied = postprocess.apply(pp, img, rng) if pp not in ("jpeg", "combo") else None
        if pp in ("jpeg", "combo"):
            pre = img if pp == "jpeg" else postprocess.apply("blur", postprocess.apply("noise", img, rng).image, rng).image
            name = f"{stem}.jpg"
            (folder / name).write_bytes(postprocess.jpeg_bytes(pre, int(rng.choice(postprocess.JPEG_QUALITIES))))
        else:
            name = f"{stem}.png"
            Image.fromarray(applied.image).save(folder / name)
        entries.append({"file": name, "kind": kind, "user_name": user, "key": key, "postprocess": pp, "seed": seed})

    unpacked = np.unpackbits(keys.packed, axis=1)[:, :scheme.key_len]
    for idx, pps in _SUSPECTS:
        name = keys.names[idx]
        seeds = [int(s) for s in rng.integers(0, 2 ** 31 - 1, len(pps))]
        imgs = generate(gen, scheme, unpacked[idx], seeds).images
        for j, (img, pp, s) in enumerate(zip(imgs, pps, seeds)):
            save(img, f"{name}_{j + 1}", pp, "fingerprinted", name, format_bits(unpacked[idx]), s)
    base_seeds = [int(s) for s in rng.integers(0, 2 ** 31 - 1, 4)]
    for j, (img, s) in enumerate(zip(generate(gen, scheme, None, base_seeds).images, base_seeds)):
        save(img, f"unfingerprinted_{j + 1}", "none", "unfingerprinted", None, None, s)
    for j, img in enumerate(render_pictures(3, size=gen.config.size, seed=int(rng.integers(1 << 30)))):
        save(img, f"picture_{j + 1}", "none", "picture", None, None, None)
    return entries
