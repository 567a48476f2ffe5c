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
