"""The evaluation protocol on a tiny real generator: counts, verdicts and the CLI's checks."""

from __future__ import annotations

import json

import pytest

from lfp_desktop.cli import main
from lfp_desktop.engine.attribution import AttributionSettings
from lfp_desktop.engine.matching import DecisionPolicy
from lfp_desktop.engine.scheme import save_scheme
from lfp_desktop.evaluation import EvalPlan, evaluate
from tests.engine.tiny import tiny_generator, tiny_scheme

FAST = AttributionSettings(starts=2, steps=30, early_stopping=False)


def test_every_kind_of_image_is_counted(tmp_path):
    gen = tiny_generator(tmp_path)
    scheme = tiny_scheme(gen)
    plan = EvalPlan(fingerprints=2, samples=2, unfingerprinted=2, pictures=3, registry_size=16, batch_images=4)
    # A policy that attributes every image: every unkeyed image must then count as a false attribution.
    lax = DecisionPolicy(target_fpr=1.0, min_margin=0, no_match_p=1.0)
    m = evaluate(gen, scheme, plan, settings=FAST, policy=lax)["none"]
    assert (m["images"], m["unfingerprinted_images"], m["non_generated_pictures"]) == (4, 2, 3)
    assert m["unkeyed_verdicts"] == {"ATTRIBUTED": 5}
    assert (m["unfingerprinted_false_attributions"], m["picture_false_attributions"]) == (2, 3)
    assert m["false_attributions"] == 5
    assert m["verdicts"] == {"ATTRIBUTED": 4}

    strict = evaluate(gen, scheme, plan, settings=FAST)["none"]
    # 8-bit keys can never reach p ≤ 1e-6, so nothing is attributed at the default policy.
    assert strict["false_attributions"] == 0 and "ATTRIBUTED" not in strict["verdicts"]
    assert sum(strict["unkeyed_verdicts"].values()) == 5
    # The decoded bits do not depend on the policy.
    assert strict["bit_accuracy"] == m["bit_accuracy"]


@pytest.mark.parametrize("flag", ["--pictures", "--unfingerprinted", "--fingerprints"])
def test_negative_counts_are_refused_with_a_message(tmp_path, capsys, flag):
    gen = tiny_generator(tmp_path)
    scheme_path = tmp_path / "scheme.npz"
    save_scheme(tiny_scheme(gen), scheme_path)
    code = main(["evaluate", "--checkpoint", str(tmp_path / "tiny.pt"), "--scheme", str(scheme_path), flag, "-1",
                 "--json"])
    assert code != 0
    assert f"{flag} must be at least" in capsys.readouterr().err


def test_cli_reports_pictures(tmp_path, capsys):
    gen = tiny_generator(tmp_path)
    scheme_path = tmp_path / "scheme.npz"
    save_scheme(tiny_scheme(gen), scheme_path)
    assert main(["evaluate", "--checkpoint", str(tmp_path / "tiny.pt"), "--scheme", str(scheme_path),
                 "--fingerprints", "1", "--samples", "1", "--pictures", "2", "--registry-size", "4",
                 "--starts", "2", "--steps", "20", "--device", "cpu", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)["none"]
    assert m["non_generated_pictures"] == 2 and sum(m["unkeyed_verdicts"].values()) == 2


def test_cli_attribute_with_the_weighted_statistic(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from lfp_desktop.engine.fingerprint import generate

    gen = tiny_generator(tmp_path)
    scheme = tiny_scheme(gen, key_len=12, shift=16)
    scheme_path = tmp_path / "scheme.npz"
    save_scheme(scheme, scheme_path)
    keys = np.random.default_rng(2).integers(0, 2, (6, 12), dtype=np.uint8)
    Image.fromarray(generate(gen, scheme, keys[3], [5]).images[0]).save(tmp_path / "suspect.png")
    (tmp_path / "keys.csv").write_text("".join(f"user{i},{''.join(map(str, k))}\n" for i, k in enumerate(keys)))
    args = ["attribute", str(tmp_path / "suspect.png"), "--checkpoint", str(tmp_path / "tiny.pt"), "--scheme",
            str(scheme_path), "--keys", str(tmp_path / "keys.csv"), "--starts", "4", "--steps", "150", "--json"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "statistic" not in plain and plain["user_name"] == "user3"
    assert main(args + ["--statistic", "weighted"]) == 0
    weighted = json.loads(capsys.readouterr().out)
    assert weighted["statistic"] == "weighted" and weighted["user_name"] == "user3"
    assert weighted["bits"] == plain["bits"]  # the same search; only the comparison differs
    # Every differing bit weighs 1 … 16, so the weighted distance lies between d and 16·d.
    d = weighted["hamming_distance"]
    assert d <= weighted["weighted_distance"] <= 16 * d
    assert weighted["runner_up_weighted_distance"] >= weighted["weighted_distance"]
