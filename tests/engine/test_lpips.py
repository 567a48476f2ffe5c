"""LPIPS from a torchvision-layout backbone file with random weights (no downloads)."""

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lfp_desktop.engine.attribution import AttributionSettings, attribute
from lfp_desktop.engine.fingerprint import generate
from lfp_desktop.engine.images import from_uint8
from lfp_desktop.engine.losses import make_loss
from lfp_desktop.engine.lpips import LPIPSLoss, tap_sizes
from lfp_desktop.errors import CheckpointError, LFPError
from lfp_desktop.resources import resource
from tests.engine.tiny import tiny_generator, tiny_scheme

SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)


def torchvision_alexnet_features() -> nn.Sequential:
    """torchvision.models.alexnet().features, written out layer by layer."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))


def torchvision_vgg16_features() -> nn.Sequential:
    """torchvision.models.vgg16().features (configuration "D")."""
    layers: list[nn.Module] = []
    c = 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    return nn.Sequential(*layers)


def save_backbone(path, features: nn.Sequential, seed: int = 0, **overrides) -> dict:
    """Save a full-model-style state dict (features.* and classifier.*) like torchvision's files."""
    torch.manual_seed(seed)
    for m in features:
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.normal_(m.bias, std=0.05)
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    # The classifier is ignored by LPIPS; small stand-ins keep the test files small.
    state.update({"classifier.1.weight": torch.randn(8, 16), "classifier.1.bias": torch.zeros(8)})
    state.update(overrides)
    torch.save(state, path)
    return state


@pytest.fixture(scope="module")
def alex_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("alex") / "alexnet-test.pth"
    return path, save_backbone(path, torchvision_alexnet_features())


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vgg") / "vgg16-test.pth"
    save_backbone(path, torchvision_vgg16_features(), seed=1)
    return path


@pytest.fixture(scope="module")
def alex(alex_file):
    return LPIPSLoss("alex", alex_file[0])


@pytest.fixture(scope="module")
def vgg(vgg_file):
    return LPIPSLoss("vgg", vgg_file)


def smooth_images(n: int, size: int, seed: int) -> torch.Tensor:
    """Float (n, 3, size, size) in [-1, 1]: upsampled noise, so images have structure."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, size // 4, size // 4, generator=g) * 2 - 1
    return F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False).clamp(-1, 1)


@pytest.mark.parametrize("which", ["alex", "vgg"])
def test_identical_zero_different_positive_and_symmetric(which, request):
    loss = request.getfixturevalue(which)
    a, b = smooth_images(2, 64, 0), smooth_images(2, 64, 1)
    rows = torch.tensor([0, 1])
    loss.prepare(a)
    assert loss(a, rows).abs().max() < 1e-6
    ab = loss(b, rows)
    assert (ab > 1e-3).all()
    loss.prepare(b)
    torch.testing.assert_close(loss(a, rows), ab, rtol=1e-5, atol=1e-7)
    assert loss.name == f"lpips-{which}"


def test_rows_are_independent(alex):
    targets, images = smooth_images(2, 64, 2), smooth_images(5, 64, 3)
    rows = torch.tensor([0, 1, 1, 0, 1])
    alex.prepare(targets)
    together = alex(images, rows)
    alone = torch.cat([alex(images[i:i + 1], rows[i:i + 1]) for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("which", ["alex", "vgg"])
def test_gradient_reaches_images(which, request):
    loss = request.getfixturevalue(which)
    loss.prepare(smooth_images(1, 32, 4))
    images = smooth_images(2, 32, 5).requires_grad_(True)
    loss(images, torch.tensor([0, 0])).sum().backward()
    assert torch.isfinite(images.grad).all()
    assert images.grad.abs().sum() > 0


def reference_alexnet_lpips(state: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """LPIPS-alex written out with functional ops, taps after each ReLU before a pool/end."""
    heads = torch.load(resource("lpips", "alex.pth"), map_location="cpu", weights_only=True)

    def taps(z):
        z = (z - SHIFT) / SCALE
        out = []
        z = F.relu(F.conv2d(z, state["features.0.weight"], state["features.0.bias"], stride=4, padding=2))
        out.append(z)
        z = F.relu(F.conv2d(F.max_pool2d(z, 3, 2), state["features.3.weight"], state["features.3.bias"], padding=2))
        out.append(z)
        z = F.max_pool2d(z, 3, 2)
        for i in (6, 8, 10):
            z = F.relu(F.conv2d(z, state[f"features.{i}.weight"], state[f"features.{i}.bias"], padding=1))
            out.append(z)
        return out

    total = torch.zeros(len(x))
    for k, (fx, fy) in enumerate(zip(taps(x), taps(y))):
        nx = fx / (torch.sqrt((fx ** 2).sum(1, keepdim=True)) + 1e-10)
        ny = fy / (torch.sqrt((fy ** 2).sum(1, keepdim=True)) + 1e-10)
        total += F.conv2d((nx - ny) ** 2, heads[f"lin{k}.model.1.weight"]).mean(dim=(1, 2, 3))
    return total


def test_matches_functional_reference(alex, alex_file):
    x, y = smooth_images(2, 64, 6), smooth_images(2, 64, 7)
    alex.prepare(y)
    torch.testing.assert_close(alex(x, torch.tensor([0, 1])), reference_alexnet_lpips(alex_file[1], x, y),
                               rtol=1e-4, atol=1e-7)


def test_one_layer_by_hand(alex, alex_file):
    """Tap 1 of AlexNet on one 64 px pair, from the formula."""
    state = alex_file[1]
    x, y = smooth_images(1, 64, 8), smooth_images(1, 64, 9)
    w = torch.load(resource("lpips", "alex.pth"), map_location="cpu", weights_only=True)["lin0.model.1.weight"]
    fx, fy = (F.relu(F.conv2d((z - SHIFT) / SCALE, state["features.0.weight"], state["features.0.bias"],
                              stride=4, padding=2)) for z in (x, y))
    assert fx.shape == (1, 64, 15, 15)
    dx = fx / (fx.norm(dim=1, keepdim=True) + 1e-10) - fy / (fy.norm(dim=1, keepdim=True) + 1e-10)
    expected = (dx.square() * w.view(1, 64, 1, 1)).sum(1).mean()
    alex.prepare(y)
    per_layer = alex.per_layer(x, torch.tensor([0]))
    assert per_layer.shape == (1, 5)
    torch.testing.assert_close(per_layer[0, 0], expected, rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(alex(x, torch.tensor([0])), per_layer.sum(1))


def test_vgg_taps_follow_the_stages(vgg):
    feats = vgg.tap_features(smooth_images(1, 64, 10))
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 64, 64), (128, 32, 32), (256, 16, 16),
                                                    (512, 8, 8), (512, 4, 4)]
    for f in feats:  # unit channel vectors, or zero where every channel is off
        n = f.norm(dim=1)
        assert (((n - 1).abs() < 1e-4) | (n < 1e-6)).all()


@pytest.mark.parametrize("net,size", [("alex", 31), ("alex", 45), ("vgg", 16), ("vgg", 23)])
def test_tap_sizes_predict_the_feature_maps(net, size, alex_file, vgg_file):
    loss = LPIPSLoss(net, alex_file[0] if net == "alex" else vgg_file, min_size=0)
    loss.prepare(smooth_images(1, size, 0))
    assert [tuple(f.shape[2:]) for f in loss.target_features] == tap_sizes(net, size, size)


def test_small_images_are_upsampled_to_64(alex_file):
    loss = LPIPSLoss("alex", alex_file[0])
    native = LPIPSLoss("alex", alex_file[0], min_size=0)
    a, b = smooth_images(2, 32, 11), smooth_images(2, 32, 12)
    rows = torch.tensor([0, 1])
    loss.prepare(a)
    assert loss.name == "lpips-alex@64px"
    up = [F.interpolate(t, size=(64, 64), mode="bilinear", align_corners=False) for t in (a, b)]
    native.prepare(up[0])
    torch.testing.assert_close(loss(b, rows), native(up[1], rows), rtol=1e-5, atol=1e-7)
    # At their own 32 px AlexNet still runs (deepest taps are 1×1), as the reference does.
    native.prepare(a)
    assert native.name == "lpips-alex" and (native(b, rows) > 0).all()
    assert tap_sizes("alex", 32, 32)[2:] == [(1, 1)] * 3


def test_too_small_for_native_size_is_refused(alex_file):
    loss = LPIPSLoss("alex", alex_file[0], min_size=0)
    with pytest.raises(LFPError, match="too small.*pixel loss"):
        loss.prepare(smooth_images(1, 16, 0))


def test_records_backbone_hash(alex, alex_file):
    assert alex.backbone_sha256 == hashlib.sha256(alex_file[0].read_bytes()).hexdigest()


def test_shipped_heads_are_the_lpips_v01_files():
    # SHA-256 from the lpips 0.1.4 wheel's RECORD.
    expected = {"alex": "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
                "vgg": "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"}
    for net, digest in expected.items():
        assert hashlib.sha256(resource("lpips", f"{net}.pth").read_bytes()).hexdigest() == digest
    assert "Redistribution and use" in resource("lpips", "LICENSE-lpips.txt").read_text()


def test_file_without_features_is_refused(tmp_path):
    path = tmp_path / "classifier-only.pth"
    torch.save({"classifier.1.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CheckpointError, match="no 'features"):
        LPIPSLoss("alex", path)


def test_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "bad.pth"
    save_backbone(path, torchvision_alexnet_features(), **{"features.6.weight": torch.zeros(384, 192, 5, 5)})
    with pytest.raises(CheckpointError, match=r"features\.6\.weight has shape \(384, 192, 5, 5\)"):
        LPIPSLoss("alex", path)


def test_missing_layer_and_wrong_net_are_refused(tmp_path, alex_file):
    state = dict(alex_file[1])
    del state["features.10.bias"]
    path = tmp_path / "missing.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"missing \['features\.10\.bias'\]"):
        LPIPSLoss("alex", path)
    with pytest.raises(CheckpointError, match="looks like AlexNet"):
        LPIPSLoss("vgg", alex_file[0])


def test_unreadable_files_are_refused(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a weights file at all")
    with pytest.raises(CheckpointError, match="could not be read"):
        LPIPSLoss("alex", junk)
    with pytest.raises(CheckpointError, match="does not exist"):
        LPIPSLoss("alex", tmp_path / "absent.pth")


class _Hostile:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


@pytest.mark.parametrize("zip_format", [True, False])
def test_hostile_pickle_is_refused_without_running(tmp_path, zip_format):
    marker = tmp_path / "pwned"
    path = tmp_path / "hostile.pth"
    torch.save({"features.0.weight": _Hostile(marker)}, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(CheckpointError, match="never runs code"):
        LPIPSLoss("alex", path)
    assert not marker.exists()


def test_lpips_inside_attribution(tmp_path, alex_file):
    gen = tiny_generator(tmp_path)
    scheme = tiny_scheme(gen)
    images = list(generate(gen, scheme, np.array([1, 0, 1, 1, 0, 0, 1, 0], np.uint8), [3]).images)
    settings = AttributionSettings(starts=2, steps=4, early_stopping=False, halving_steps=(), penalty=0.0,
                                   loss="lpips-alex", lpips_backbone=str(alex_file[0]))
    (res,) = attribute(gen, scheme, images, settings=settings)
    assert res.loss_name == "lpips-alex@64px"  # the tiny generator makes 16 px images
    assert res.to_dict()["loss"] == "lpips-alex@64px"
    assert np.isfinite(res.loss_curves).all() and res.loss_curves.shape == (4, 2)
    # The winning start's loss (penalty off) is the LPIPS distance of
    # its reconstruction, computed again from the latent.
    assert res.reconstruction_distance == pytest.approx(res.final_losses[res.winning_start], rel=1e-4)
    loss = make_loss("lpips-alex", alex_file[0])
    loss.prepare(from_uint8(images[0]))
    with torch.no_grad():
        recon = gen.synthesis(torch.as_tensor(res.latent)[None]).clamp(-1, 1)  # as evidence is
    assert loss(recon, torch.tensor([0])).item() == pytest.approx(res.reconstruction_distance, rel=1e-4)
