"""What keeps the interface thread free while the workers compute: background threads run at a
lower priority than the interface, and long-lived objects are kept out of full collections."""

from __future__ import annotations

import gc
import os
import sys
import threading
import weakref

import pytest

from lfp_desktop.gui.heap import freeze_long_lived
from lfp_desktop.gui.priority import BACKGROUND_NICE, background_nice, lower_current_thread_priority


def test_background_niceness_is_relative_to_the_interface_and_capped():
    assert background_nice(0) == BACKGROUND_NICE
    assert background_nice(5) == 5 + BACKGROUND_NICE
    assert background_nice(10) == 19  # an interface started with `nice -n 10` still comes first
    assert background_nice(19) == 19
    assert background_nice(3, step=-4) == 3  # never raised above the interface


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is a Linux feature")
def test_a_worker_thread_ends_below_the_thread_that_started_it():
    seen: dict[str, int] = {}

    def work() -> None:
        tid = threading.get_native_id()
        seen["before"] = os.getpriority(os.PRIO_PROCESS, tid)
        lower_current_thread_priority()
        seen["after"] = os.getpriority(os.PRIO_PROCESS, tid)

    t = threading.Thread(target=work)
    t.start()
    t.join(10)
    assert seen["after"] == min(19, seen["before"] + BACKGROUND_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == seen["before"]  # this thread untouched


def test_freezing_collects_fresh_garbage_and_excludes_the_survivors():
    class Node:
        pass

    garbage = Node()
    garbage.me = garbage  # a reference cycle: only the collector can free it
    gone = weakref.ref(garbage)
    del garbage
    kept = [Node() for _ in range(500)]
    before = gc.get_freeze_count()
    frozen = freeze_long_lived()
    assert gone() is None  # freed, not frozen for the rest of the session
    assert frozen >= before + len(kept)
