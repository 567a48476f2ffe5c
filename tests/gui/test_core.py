"""The parts under the window: step throttling, curve buffers, the worker pool, device plans."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from lfp_desktop.engine.attribution import AttributionSettings
from lfp_desktop.engine.matching import DecisionPolicy
from lfp_desktop.errors import LFPError
from lfp_desktop.gui.curves import CurveBuffer
from lfp_desktop.gui.devices import plan_devices
from lfp_desktop.gui.jobs import Job, ModelSpec, RunOptions, StepBatch, WorkItem
from lfp_desktop.gui.pool import WorkerPool
from lfp_desktop.gui.throttle import StepThrottle


def _report(i: int, step: int, done: bool = False) -> SimpleNamespace:
    return SimpleNamespace(image_index=i, step=step, losses=np.array([1.0 / step, 2.0 / step]), best_start=0,
                           best_loss=1.0 / step, bit_probs=np.full(4, 0.5 + step / 100), active_starts=2, done=done)


def test_throttle_batches_every_step_once_and_closes_each_image():
    opts = RunOptions(AttributionSettings(starts=2, steps=10), DecisionPolicy())
    job = Job(1, "m", tuple(WorkItem(f"item/{i}", "m", np.zeros((4, 4, 3), np.uint8), opts) for i in range(2)), opts)
    now = [0.0]
    out: list[StepBatch] = []
    throttle = StepThrottle(job, out.append, interval_s=0.05, clock=lambda: now[0])
    for step in range(1, 11):
        for i in range(2):
            throttle(_report(i, step))
        now[0] += 0.02
    for i in range(2):
        throttle(_report(i, 10, done=True))
    for i in range(2):
        mine = [b for b in out if b.item_id == f"item/{i}"]
        assert np.concatenate([b.steps for b in mine]).tolist() == list(range(1, 11))
        assert len(mine) <= 5 and mine[-1].done and not any(b.done for b in mine[:-1])
        assert mine[-1].losses.shape[1] == 2 and mine[-1].max_steps == 10


def test_curve_buffer_grows_and_replays_stored_curves():
    buf = CurveBuffer(starts=2, key_len=4, capacity=4)
    for first in range(1, 300, 7):
        steps = np.arange(first, first + 7)
        buf.add(StepBatch(1, "item/1", "m", steps, np.stack([1.0 / steps, 2.0 / steps], 1).astype(np.float32),
                          1.0 / steps, 1, np.full(4, 0.9), 2, False, 400))
    assert buf.steps == 301 and buf.losses.shape == (301, 2)
    np.testing.assert_allclose(buf.best_curve(), 2.0 / np.arange(1, 302), rtol=1e-6)
    assert buf.bit_history.shape == (43, 4) and buf.bit_steps[-1] == 301
    assert buf.since_best_changed() == 0  # the same start led throughout
    buf.add(StepBatch(1, "item/1", "m", np.array([302]), np.ones((1, 2), np.float32), np.ones(1), 0,
                      np.full(4, 0.2), 2, False, 400))
    assert buf.since_best_changed() == 43 and buf.bit_history[43:].tolist() == [[0.2] * 4]
    outcome = SimpleNamespace(loss_curves=buf.losses.copy(), bit_probs=np.full(4, 0.9), winning_start=0)
    again = CurveBuffer.from_outcome(outcome)
    assert again.done and again.steps == 302 and np.array_equal(again.best_curve(), buf.losses[:, 0])


def test_device_plans():
    assert plan_devices("auto", 0, 0) == ["cpu"]
    assert plan_devices("auto", 0, 2) == ["cuda:0", "cuda:1"]
    assert plan_devices("cuda:1", 0, 2) == ["cuda:1"]
    assert plan_devices("cpu", 3, 2) == ["cpu", "cpu", "cpu"]
    assert plan_devices("auto", 3, 2) == ["cuda:0", "cuda:1", "cuda:0"]
    with pytest.raises(LFPError, match="none is available"):
        plan_devices("cuda", 0, 0)
    with pytest.raises(LFPError, match="2 CUDA device"):
        plan_devices("cuda:5", 0, 2)


@pytest.fixture
def pool(qtbot, tiny_ws):
    pool = WorkerPool(batch_size=2, coalesce_ms=30)
    pool.start(["cpu"])
    with qtbot.waitSignal(pool.model_loaded, timeout=30_000):
        pool.load_model(ModelSpec(tiny_ws.registry_path, tiny_ws.checkpoint_path))
    yield pool
    pool.cancel_all()
    pool.stop()


def _items(tiny_ws, pool, names, steps):
    opts = RunOptions(AttributionSettings.reference(starts=2, steps=steps), DecisionPolicy(target_fpr=0.01))
    key = next(iter(pool._specs))
    return [WorkItem(f"item/{n}", key, np.asarray(Image.open(tiny_ws.evidence_dir / n)), opts) for n in names]


def test_pool_batches_images_into_jobs(qtbot, pool, tiny_ws):
    jobs: dict[int, set[str]] = {}
    finished = []
    pool.step_reported.connect(lambda b: jobs.setdefault(b.job_id, set()).add(b.item_id))
    pool.item_finished.connect(finished.append)
    pool.submit(_items(tiny_ws, pool, ["alice.adams_1.png", "alice.adams_2.png", "plain_1.png"], 15))
    qtbot.waitUntil(lambda: len(finished) == 3, timeout=60_000)
    assert sorted(len(v) for v in jobs.values()) == [1, 2]
    assert {o.item_id for o in finished} == {"item/alice.adams_1.png", "item/alice.adams_2.png", "item/plain_1.png"}
    assert all(o.loss_curves.shape == (15, 2) for o in finished)


def test_pool_cancels_one_image_and_requeues_its_batch_mate(qtbot, pool, tiny_ws):
    events = []
    pool.item_started.connect(lambda i, _m: events.append(("started", i)))
    pool.item_cancelled.connect(lambda i, _m: events.append(("cancelled", i)))
    pool.item_queued.connect(lambda i, _m: events.append(("queued", i)))
    a, b = _items(tiny_ws, pool, ["alice.adams_1.png", "plain_1.png"], 100_000)
    pool.submit([a, b])
    qtbot.waitUntil(lambda: ("started", b.item_id) in events, timeout=20_000)
    pool.cancel_item(a.item_id)
    qtbot.waitUntil(lambda: events.count(("started", b.item_id)) == 2, timeout=20_000)
    assert ("cancelled", a.item_id) in events and ("cancelled", b.item_id) not in events
    assert pool.running_items() == [b.item_id] and pool.queued_count() == 0
