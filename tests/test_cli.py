import json
import subprocess
import sys

import numpy as np
from PIL import Image

from lfp_desktop import __version__
from lfp_desktop.cli import main
from lfp_desktop.engine.scheme import load_scheme
from tests.engine.tiny import tiny_generator


def test_version_from_a_real_process():
    out = subprocess.run([sys.executable, "-m", "lfp_desktop.cli", "--version"], capture_output=True, text=True,
                         check=True)
    assert __version__ in out.stdout


def test_scheme_create_show_and_sample(tmp_path, capsys):
    tiny_generator(tmp_path)  # writes tmp_path / "tiny.pt"
    ckpt, scheme_path = tmp_path / "tiny.pt", tmp_path / "s.npz"
    assert main(["scheme", "create", str(ckpt), "--key-len", "8", "--shift", "20", "--sigma", "2",
                 "--samples", "500", "--out", str(scheme_path), "--device", "cpu"]) == 0
    scheme = load_scheme(scheme_path)
    assert (scheme.key_len, scheme.shift, scheme.sigma) == (8, 20, 2.0)
    capsys.readouterr()
    assert main(["scheme", "show", str(scheme_path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["key_len"] == 8 and shown["sha256"] == scheme.sha256
    out = tmp_path / "samples"
    assert main(["sample", "--checkpoint", str(ckpt), "--scheme", str(scheme_path), "--key", "10110010",
                 "-n", "3", "--seed", "5", "--out", str(out)]) == 0
    side = json.loads((out / "samples.json").read_text())
    assert side["key"] == "10110010" and [i["seed"] for i in side["images"]] == [5, 6, 7]
    img = np.asarray(Image.open(out / side["images"][0]["file"]))
    assert img.shape == (16, 16, 3) and img.dtype == np.uint8


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    assert main(["scheme", "create", str(bad), "--key-len", "8", "--out", str(tmp_path / "s.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lfp: error:") and "Traceback" not in err
    tiny_generator(tmp_path)
    assert main(["scheme", "create", str(tmp_path / "tiny.pt"), "--key-len", "30", "--shift", "10",
                 "--out", str(tmp_path / "s.npz")]) == 1
    assert "exceeds the latent dimension 32" in capsys.readouterr().err
    assert main(["attribute", str(tmp_path / "suspect.png"), "--blur-radius", "13"]) == 1
    assert "blur_radius must be between 0 (off) and 12 pixels" in capsys.readouterr().err
