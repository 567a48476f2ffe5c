"""Engine test fixtures."""

import pytest
import torch

from tests.engine.tiny import tiny_generator, tiny_scheme


@pytest.fixture(autouse=True)
def _single_thread():
    """Tiny models gain nothing from threads; on a busy 2-core machine every OpenMP region
    can wait out a scheduler slice, which makes millisecond ops take tens of milliseconds."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny random generator saved and loaded through the real loader, and its scheme."""
    gen = tiny_generator(tmp_path_factory.mktemp("tiny"))
    return gen, tiny_scheme(gen)


@pytest.fixture(scope="module")
def demo_model():
    """The bundled demo generator and scheme, as the app loads them."""
    from lfp_desktop.engine.checkpoint import load_generator
    from lfp_desktop.engine.scheme import load_scheme
    from lfp_desktop.resources import resource

    gen = load_generator(resource("demo", "generator.pt"), device="cpu")
    return gen, load_scheme(resource("demo", "scheme.npz"), checkpoint_sha256=gen.sha256)
