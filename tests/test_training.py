"""Training: per-epoch chain continues exactly; atomic checkpoints; resumable pretraining."""

import copy

import pytest
import torch

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


# --------------------------------------------------------------------- training methods

def _legacy_adv_epoch(model, opt, x_all, y_all, cfg, gen, adversary):
    """The σ-mix epoch as training._train_epoch wrote it before training methods existed (CPU, no amp)."""
    import torch.nn.functional as F

    from advtrace import attacks
    from advtrace.data import to_float
    from advtrace.training import batches

    model.train()
    for idx in batches(len(y_all), cfg["batch_size"], gen):
        x = augment(to_float(x_all[idx]), cfg["augment"], gen)
        y = y_all[idx]
        sigma = adversary["sigma"]
        y_att = attacks.predict(model, x) if adversary["label"] == "predicted" else y
        delta = attacks.run_attack(model, x, y_att, generator=gen, **adversary["kwargs"])
        model.train()
        if sigma > 0:
            logits = model(torch.cat([x, x + delta]))
            n = len(y)
            loss = sigma * F.cross_entropy(logits[:n], y) + (1 - sigma) * F.cross_entropy(logits[n:], y)
        else:
            loss = F.cross_entropy(model(x + delta), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


@pytest.mark.parametrize("sigma,label,attack", [
    (0.0, "predicted", {"name": "bi", "eps": 32, "alpha": 8, "iterations": 2}),
    (0.5, "ground_truth", {"name": "step_rnd", "eps": 32}),
])
def test_sigma_mix_epoch_equals_the_pre_method_loop(exp, sigma, label, attack):
    """adv_train.method: sigma_mix through the method registry gives the weights, optimiser state and
    generator state of the loop it replaced, bit for bit (same code path, same kernels)."""
    from advtrace.config import attack_kwargs
    from advtrace.training import _train_epoch, adversary_from_config, make_optimizer, model_from_data

    torch.set_num_threads(1)
    data, dev = tiny_data(), torch.device("cpu")
    cfg = copy.deepcopy(exp["adv_train"])
    cfg.update(sigma=sigma, attack_label=label, attack=attack)
    states = []
    for run in ("methods", "legacy"):
        torch.manual_seed(0)
        model = model_from_data({"name": "preact_resnet18", "width": 8}, data, dev)
        opt = make_optimizer(model, cfg["optimizer"])
        gen = torch.Generator().manual_seed(3)
        if run == "methods":
            _train_epoch(model, opt, data["train_x"], data["train_y"], cfg, gen, dev, "t", adversary_from_config(cfg))
        else:
            _legacy_adv_epoch(model, opt, data["train_x"], data["train_y"], cfg, gen,
                              {"kwargs": attack_kwargs(attack), "sigma": sigma, "label": label})
        states.append((model.state_dict(), opt.state_dict()["state"], gen.get_state()))
    (ma, oa, ga), (mb, ob, gb) = states
    assert all(torch.equal(ma[k], mb[k]) for k in ma)
    assert all(torch.equal(oa[i]["momentum_buffer"], ob[i]["momentum_buffer"]) for i in oa)
    assert torch.equal(ga, gb)


def test_sigma_mix_step_equals_hand_written(exp):
    """One batch: the registry's sigma_mix forms the loss (and gradients) of a hand-written σ-mix step."""
    import torch.nn.functional as F

    from advtrace import attacks, methods
    from advtrace.data import to_float
    from advtrace.training import model_from_data

    torch.set_num_threads(1)
    data = tiny_data()
    cfg = copy.deepcopy(exp["adv_train"])
    cfg["sigma"] = 0.3
    ctx = methods.context_from_config(cfg, torch.Generator().manual_seed(0))
    assert ctx.method == "sigma_mix" and ctx.params == {"sigma": 0.3} and ctx.attack_label == "predicted"
    x, y = to_float(data["train_x"][:32]), data["train_y"][:32]
    torch.manual_seed(0)
    model = model_from_data({"name": "preact_resnet18", "width": 8}, data, "cpu").train()
    ref = copy.deepcopy(model)
    loss, logits, y_acc = methods.METHODS["sigma_mix"](ctx, model, x, y)
    loss.backward()
    delta = attacks.bi(ref, x, attacks.predict(ref, x), 32 / 255, 8 / 255, 2)
    out = ref(torch.cat([x, x + delta]))
    ref_loss = 0.3 * F.cross_entropy(out[:32], y) + 0.7 * F.cross_entropy(out[32:], y)
    ref_loss.backward()
    assert torch.equal(loss, ref_loss) and torch.equal(logits, out[32:]) and torch.equal(y_acc, y)
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        assert torch.equal(p.grad, q.grad), name


@pytest.mark.parametrize("select", ["best_val", "last"])
def test_pretrain_select_keeps_the_best_validation_epoch(tmp_path, exp, monkeypatch, select):
    """pretrain.select: best_val (paper 001 Sec. 4.1) stores the epoch whose validation accuracy is
    the highest of the per-epoch ones; last stores the last epoch."""
    import advtrace.training as tr
    from advtrace.checkpoints import load_checkpoint

    torch.set_num_threads(1)
    data, dev = tiny_data(), torch.device("cpu")
    exp["pretrain"].update(epochs=4, select=select)
    exp["pretrain"]["optimizer"]["lr"] = 0.5  # a noisy run, so the epochs' validation accuracies differ
    seen, states = [], []
    real = tr._accuracy

    def record(model, *a, **k):
        acc = real(model, *a, **k)
        seen.append(acc)
        states.append(copy.deepcopy(model.state_dict()))
        return acc

    monkeypatch.setattr(tr, "_accuracy", record)
    pretrain(data, exp, dev, tmp_path / "epoch_000.pt")
    monkeypatch.setattr(tr, "_accuracy", real)
    model = load_checkpoint(tmp_path / "epoch_000.pt", dev)
    if select == "last":
        assert seen == []  # no validation pass at all
        return
    assert len(seen) == 4
    best = seen.index(max(seen))
    assert real(model, data["val_x"], data["val_y"], dev) == max(seen)
    for k, v in model.state_dict().items():
        assert torch.equal(v, states[best][k]), k
