"""Which devices get a worker. The CUDA count is asked off the interface thread, because
importing torch takes seconds."""

from __future__ import annotations

from lfp_desktop.errors import LFPError


def plan_devices(device: str, workers: int, cuda_count: int) -> list[str]:
    """Device of each worker.

    device: "auto", "cpu", "cuda" or "cuda:N"; workers: 0 means one per CUDA device (or one
    CPU worker), N > 0 that many workers spread over the chosen devices.
    """
    if device == "cpu" or (device == "auto" and cuda_count == 0):
        base = ["cpu"]
    elif device in ("auto", "cuda"):
        if cuda_count == 0:
            raise LFPError("the settings ask for a CUDA device but none is available; "
                           "choose 'auto' or 'cpu' in Settings")
        base = [f"cuda:{i}" for i in range(cuda_count)]
    else:
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        if index >= cuda_count:
            raise LFPError(f"the settings ask for {device} but {cuda_count} CUDA device(s) are available; "
                           "choose another device in Settings")
        base = [f"cuda:{index}"]
    count = workers or len(base)
    return [base[i % len(base)] for i in range(count)]


def cuda_device_count() -> int:
    """Number of usable CUDA devices (imports torch)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0

