"""Keep the garbage collector's full passes short while the interface runs.

With PyTorch, SciPy, Qt and pyqtgraph imported the interpreter tracks about 250 000 objects; a
full (oldest-generation) collection walks all of them and takes 100–250 ms, holding the
interpreter lock, whichever thread triggers it. That freezes the window. Objects that live for
the whole session (modules, classes, loaded models) are moved out of the collector's view once
they exist, so later full passes only walk what was created since.
"""

from __future__ import annotations

import gc


def freeze_long_lived(*, full: bool = False) -> int:
    """Collect garbage, then exclude every object still tracked from later collections
    (``gc.freeze``). Call it after large one-off loads: start-up imports, a model load.

    ``full=False`` collects only the young generations (milliseconds: what the load just left
    behind); ``full=True`` runs a full pass first (100–250 ms: only where nothing is on screen
    yet). Returns the number of objects now excluded.
    """
    gc.collect(2 if full else 1)
    gc.freeze()
    return gc.get_freeze_count()
