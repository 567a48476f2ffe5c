"""The bundled demo end to end: real checkpoint, real registry file, real evidence files."""


import numpy as np
import pytest

from lfp_desktop.analysis import ModelContext, analyse
from lfp_desktop.casework.intake import fit_to_resolution, read_evidence
from lfp_desktop.demo.train import DEMO_CONFIG
from lfp_desktop.demo.workspace import build_demo_workspace, ensure_demo_workspace
from lfp_desktop.engine.attribution import AttributionSettings
from lfp_desktop.engine.checkpoint import load_generator, sha256_file
from lfp_desktop.engine.scheme import load_scheme
from lfp_desktop.errors import LFPError
from lfp_desktop.registry import Registry

FAST = AttributionSettings(seed=0)  # the defaults, as the app runs them


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return build_demo_workspace(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def context(workspace):
    gen = load_generator(workspace.checkpoint_path, device="cpu")
    with Registry.open(workspace.registry_path, readonly=True) as reg:
        scheme = load_scheme(workspace.scheme_path, checkpoint_sha256=gen.sha256)
        assert reg.scheme_sha256 == scheme.sha256
        return ModelContext(generator=gen, scheme=scheme, keys=reg.load_keys(), name="demo",
                            registry_digest=reg.digest())


def test_bundled_model_and_scheme_belong_together(workspace):
    gen = load_generator(workspace.checkpoint_path, device="cpu")
    scheme = load_scheme(workspace.scheme_path, checkpoint_sha256=gen.sha256)
    assert gen.sha256 == sha256_file(workspace.checkpoint_path)
    assert scheme.key_len >= 48 and gen.config.size == DEMO_CONFIG["size"] == 64


def test_workspace_contents(workspace, context):
    manifest = workspace.manifest()
    kinds = {e["kind"] for e in manifest}
    assert kinds == {"fingerprinted", "unfingerprinted", "picture"}
    assert {e["file"].rsplit(".", 1)[1] for e in manifest} == {"png", "jpg"}
    assert len(context.keys.names) == 1000
    for e in manifest:
        assert (workspace.evidence_dir / e["file"]).is_file()
        if e["kind"] == "fingerprinted":
            i = context.keys.names.index(e["user_name"])
            bits = np.unpackbits(context.keys.packed[i])[: context.scheme.key_len]
            assert "".join(map(str, bits)) == e["key"]
    with pytest.raises(LFPError, match="already exists"):
        build_demo_workspace(workspace.root)
    assert ensure_demo_workspace(workspace.root).registry_path == workspace.registry_path


def _fitted(workspace, entry):
    ev = read_evidence(workspace.evidence_dir / entry["file"])
    return fit_to_resolution(ev.rgb, DEMO_CONFIG["size"])[0]


def test_clean_demo_image_names_the_right_user(workspace, context):
    entry = next(e for e in workspace.manifest() if e["kind"] == "fingerprinted" and e["postprocess"] == "none")
    a = analyse(context, [_fitted(workspace, entry)], settings=FAST)[0]
    assert a.verdict == "ATTRIBUTED" and a.user_name == entry["user_name"]
    assert a.decision.p_value <= 1e-6


def test_pictures_are_not_attributed(workspace, context):
    entries = [e for e in workspace.manifest() if e["kind"] in ("picture", "unfingerprinted")][:2]
    # Images without a fingerprint never settle, so cap the steps to keep the test short.
    for a in analyse(context, [_fitted(workspace, e) for e in entries], settings=AttributionSettings(steps=300)):
        assert a.verdict != "ATTRIBUTED"
