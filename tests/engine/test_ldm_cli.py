"""The command line and the desktop app's model loading on a latent diffusion model folder."""

import json

import numpy as np
import pytest

from lfp_desktop.cli import main
from lfp_desktop.engine.scheme import load_scheme, scheme_to_bytes
from tests.engine.ldm_tiny import IMAGE_SIZE, save_tiny_ldm

KEY = "10110010"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """(tmp folder, model folder, scheme file) made through ``lfp scheme create``."""
    tmp = tmp_path_factory.mktemp("ldm-cli")
    folder = save_tiny_ldm(tmp / "tiny-ldm")
    scheme_path = tmp / "ldm.scheme"
    assert main(["scheme", "create", str(folder), "--key-len", "8", "--shift", "40", "--repeat", "3",
                 "--sigma", "40", "--samples", "250", "--ddim-steps", "3", "--out", str(scheme_path),
                 "--device", "cpu"]) == 0
    return tmp, folder, scheme_path


def test_scheme_create_and_show(made, capsys):
    _, _, scheme_path = made
    scheme = load_scheme(scheme_path)
    assert (scheme.model_kind, scheme.repeat, scheme.shift, scheme.generator_config["ddim_steps"]) == ("ldm", 3, 40, 3)
    capsys.readouterr()
    assert main(["scheme", "show", str(scheme_path)]) == 0
    out = capsys.readouterr().out
    assert "latent diffusion" in out and "DDIM 3 steps" in out


def _json_objects(text: str) -> list[dict]:
    """The JSON objects printed one after another (each indented over several lines)."""
    decoder, objs, pos, text = json.JSONDecoder(), [], 0, text.strip()
    while pos < len(text):
        obj, pos = decoder.raw_decode(text, pos)
        objs.append(obj)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return objs


def test_ldm_options_are_refused_for_a_stylegan2_checkpoint(tmp_path, capsys):
    from tests.engine.tiny import tiny_generator

    tiny_generator(tmp_path)
    assert main(["scheme", "create", str(tmp_path / "tiny.pt"), "--key-len", "8", "--repeat", "3",
                 "--out", str(tmp_path / "s")]) == 1
    assert "apply to latent diffusion models only" in capsys.readouterr().err


def test_sample_then_attribute_recovers_the_key(made, capsys):
    tmp, folder, scheme_path = made
    out = tmp / "samples"
    model = ["--checkpoint", str(folder), "--scheme", str(scheme_path), "--device", "cpu"]
    assert main(["sample", *model, "--key", KEY, "-n", "2", "--seed", "3", "--out", str(out)]) == 0
    side = json.loads((out / "samples.json").read_text())
    assert side["model_kind"] == "ldm" and side["key"] == KEY
    keys = tmp / "keys.json"
    keys.write_text(json.dumps([{"name": "alice", "key": KEY}, {"name": "bob", "key": "01001101"}]))
    capsys.readouterr()
    files = [str(out / i["file"]) for i in side["images"]]
    assert main(["attribute", *files, *model, "--keys", str(keys), "--starts", "6", "--steps", "150",
                 "--fpr", "0.05", "--json"]) == 0
    records = _json_objects(capsys.readouterr().out)
    assert len(records) == 2
    for rec in records:
        assert rec["bits"] == KEY and rec["user_name"] == "alice" and rec["verdict"] == "ATTRIBUTED"
        assert rec["model_kind"] == "ldm" and rec["settings"]["penalty"] == 0.005


def test_evaluate_runs_on_an_ldm(made, capsys):
    _, folder, scheme_path = made
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(folder), "--scheme", str(scheme_path), "--device", "cpu",
                 "--fingerprints", "1", "--samples", "1", "--registry-size", "4", "--starts", "4", "--steps", "60",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["none"]["images"] == 1 and report["none"]["bit_accuracy"] is not None


def test_desktop_loading_of_a_registry_with_an_ldm(made):
    from lfp_desktop.gui.jobs import ModelSpec
    from lfp_desktop.gui.loading import load_model_pair
    from lfp_desktop.registry import Registry

    tmp, folder, scheme_path = made
    reg_path = tmp / "ldm.lfpreg"
    with Registry.create(reg_path, scheme_bytes=scheme_path.read_bytes(), scheme_name="tiny ldm", key_len=8,
                         actor="test", min_distance=2) as reg:
        reg.enroll_many(["ann", "ben"], actor="test", rng=np.random.default_rng(0))
    ctx, info = load_model_pair(ModelSpec(reg_path, folder), "cpu")
    assert ctx.model_kind == "ldm" and info.size == IMAGE_SIZE and info.n_users == 2
    assert info.checkpoint_sha256 == ctx.generator.sha256
    assert scheme_to_bytes(ctx.scheme) == scheme_path.read_bytes()
