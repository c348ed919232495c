"""The stability kernels give the same results on CUDA as on CPU (skipped without a GPU)."""

import numpy as np
import pytest
import torch

from advtrace import stability
from advtrace.models import build_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _setup(n=40):
    torch.manual_seed(0)
    model = build_model({"name": "preact_resnet18", "width": 4}, 10, 3, 8).eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (n, 3, 8, 8), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (n,), generator=g)
    deltas = [torch.randint(-8, 9, (n, 3, 8, 8), generator=g).float() / 255 for _ in range(5)]
    return model, x, y, deltas


def test_transfer_cuda_matches_cpu():
    model, x, y, deltas = _setup()
    cpu = stability.evaluate_transfer(model, x, y, enumerate(deltas), 64, torch.device("cpu"))
    gpu = stability.evaluate_transfer(model.cuda(), x, y, enumerate(deltas), 64, torch.device("cuda"))
    assert np.allclose(cpu["p_true"], gpu["p_true"], atol=1e-4)
    assert np.allclose(cpu["cost_adv"], gpu["cost_adv"], atol=1e-3)
    assert (cpu["pred"] == gpu["pred"]).mean() > 0.99


def test_pairwise_cuda_matches_cpu():
    model, x, y, deltas = _setup()
    d = torch.cat(deltas)[:30]
    cpu = stability.evaluate_pairwise(model, x, y, d, 100, torch.device("cpu"))
    gpu = stability.evaluate_pairwise(model.cuda(), x, y, d, 100, torch.device("cuda"))
    assert np.allclose(cpu["mean_cost_change"], gpu["mean_cost_change"], atol=1e-3)
    assert np.abs(cpu["n_effective"] - gpu["n_effective"]).max() <= 1
