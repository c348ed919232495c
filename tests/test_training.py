"""Training: per-epoch chain continues exactly; atomic checkpoints; resumable pretraining."""

import copy

import pytest
import torch

from advtrace.data import draw_samples, sample_set
from advtrace.runtime import load_torch
from advtrace.training import adv_train_epoch, augment, pretrain


def tiny_data(n_train=96, n_test=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    # two-class synthetic 8x8 "digits": a bright left or right half plus noise
    def make(n):
        y = torch.randint(0, 2, (n,), generator=g)
        x = torch.rand(n, 1, 8, 8, generator=g) * 60
        x[y == 0, :, :, :4] += 150
        x[y == 1, :, :, 4:] += 150
        return x.clamp(0, 255).to(torch.uint8), y
    tx, ty = make(n_train)
    ex, ey = make(n_test)
    return {"name": "synthetic", "num_classes": 2, "in_channels": 1, "image_size": 8,
            "train_x": tx, "train_y": ty, "val_x": ex[:8], "val_y": ey[:8], "test_x": ex, "test_y": ey,
            "mean": [0.4], "std": [0.3]}


@pytest.fixture
def exp(digits_cfg):
    cfg = copy.deepcopy(digits_cfg)
    cfg["model"]["width"] = 4
    cfg["pretrain"].update(epochs=2, batch_size=32)
    cfg["adv_train"].update(batch_size=32)
    cfg["adv_train"]["attack"].update(iterations=2)
    return cfg


def test_epoch_chain_is_bit_identical_when_extended(tmp_path, exp):
    """4 epochs in one go == 2 epochs, then (config raised) 2 more: identical weights on CPU."""
    torch.set_num_threads(1)
    data, dev = tiny_data(), torch.device("cpu")
    a, b = tmp_path / "a", tmp_path / "b"
    pretrain(data, exp, dev, a / "epoch_000.pt")
    pretrain(data, exp, dev, b / "epoch_000.pt")
    for t in range(1, 5):
        adv_train_epoch(a / f"epoch_{t - 1:03d}.pt", data, exp, t, dev, a / f"epoch_{t:03d}.pt")
    for t in range(1, 3):
        adv_train_epoch(b / f"epoch_{t - 1:03d}.pt", data, exp, t, dev, b / f"epoch_{t:03d}.pt")
    exp2 = copy.deepcopy(exp)
    exp2["adv_train"]["epochs"] = 4  # a separate "run" with the raised config
    for t in range(3, 5):
        adv_train_epoch(b / f"epoch_{t - 1:03d}.pt", data, exp2, t, dev, b / f"epoch_{t:03d}.pt")
    ca, cb = load_torch(a / "epoch_004.pt"), load_torch(b / "epoch_004.pt")
    for k in ca["model"]:
        assert torch.equal(ca["model"][k], cb["model"][k]), k
    assert torch.equal(ca["rng"], cb["rng"])
    # and training really changed the weights
    c0 = load_torch(a / "epoch_000.pt")
    assert any(not torch.equal(c0["model"][k], ca["model"][k]) for k in ca["model"])
    assert ca["epoch"] == 4 and ca["phase"] == "adv"


def test_checkpoint_has_full_state(tmp_path, exp):
    data = tiny_data()
    pretrain(data, exp, torch.device("cpu"), tmp_path / "epoch_000.pt")
    ck = load_torch(tmp_path / "epoch_000.pt")
    assert set(ck) >= {"epoch", "phase", "model", "optimizer", "scheduler", "rng", "torch_rng"}
    assert not list(tmp_path.glob(".*tmp")), "temporary files left behind"


def test_adv_epoch_rejects_wrong_previous(tmp_path, exp):
    data = tiny_data()
    pretrain(data, exp, torch.device("cpu"), tmp_path / "epoch_000.pt")
    with pytest.raises(ValueError, match="expected 1"):
        adv_train_epoch(tmp_path / "epoch_000.pt", data, exp, 2, torch.device("cpu"), tmp_path / "epoch_002.pt")


def test_killed_pretraining_resumes_identically(tmp_path, exp, monkeypatch):
    import advtrace.training as tr

    torch.set_num_threads(1)
    data, dev = tiny_data(), torch.device("cpu")
    exp["pretrain"]["epochs"] = 3
    pretrain(data, exp, dev, tmp_path / "ref.pt")
    # kill after the 2nd epoch's resume state is written
    calls = {"n": 0}
    real = tr._train_epoch

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real(*a, **k)

    monkeypatch.setattr(tr, "_train_epoch", dying)
    resume = tmp_path / "resume.pt"
    with pytest.raises(KeyboardInterrupt):
        pretrain(data, exp, dev, tmp_path / "epoch_000.pt", resume_path=resume)
    assert resume.exists() and not (tmp_path / "epoch_000.pt").exists()
    monkeypatch.setattr(tr, "_train_epoch", real)
    pretrain(data, exp, dev, tmp_path / "epoch_000.pt", resume_path=resume)
    assert not resume.exists()
    a, b = load_torch(tmp_path / "ref.pt"), load_torch(tmp_path / "epoch_000.pt")
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_augment_crop_is_a_shift_and_seeded():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    cfg = {"crop_padding": 1, "flip": False}
    a = augment(x, cfg, torch.Generator().manual_seed(0))
    b = augment(x, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    # each output is the input shifted by at most one pixel, zero-filled
    for i in range(2):
        ok = False
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ref = torch.zeros(4, 4)
                src = x[i, 0]
                for r in range(4):
                    for c in range(4):
                        rr, cc = r + dy, c + dx
                        if 0 <= rr < 4 and 0 <= cc < 4:
                            ref[r, c] = src[rr, cc]
                ok |= torch.equal(ref, a[i, 0])
        assert ok
