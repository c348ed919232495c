"""The vanilla-training epochs on the learning curve (paper 000 Figs. 17/22, issue 17 point 3):
evaluation.pretrain_epochs makes the pretrain job keep those models, evaluate_pretrain_epochs
evaluates them, and the learning_curve table and Fig. 8 put them on the paper's epoch axis."""

import copy

import pytest
import torch
import yaml

from advtrace.config import check_experiment
from advtrace.studies.p000.plan import paper_epoch_offset, pretrain_eval_epochs
from conftest import analysis_jobs, copy_workflow, dry_run_jobs, snakemake, write_exp

pytestmark = pytest.mark.usefixtures("one_thread")

CORE = ("name", "seed", "dataset", "model", "pretrain", "adv_train", "samples", "evaluation")
P, T = 3, 1  # vanilla epochs, adversarial epochs of the tiny experiment


def tiny(root, pretrain_epochs="all") -> dict:
    """smoke's learning-curve stage alone, 3 vanilla + 1 adversarial epochs, small sample sets."""
    smoke = yaml.safe_load((root / "config" / "experiments" / "smoke.yaml").read_text())
    cfg = {k: copy.deepcopy(v) for k, v in smoke.items() if k in CORE}
    cfg["pretrain"]["epochs"], cfg["adv_train"]["epochs"] = P, T
    cfg["samples"] = {"eval_train": {"split": "train", "n": 40, "exclude": []},
                      "eval_test": {"split": "test", "n": 40, "exclude": []}}
    cfg["evaluation"]["attacks"]["BI"]["iterations"] = 2
    if pretrain_epochs is not None:
        cfg["evaluation"]["pretrain_epochs"] = pretrain_epochs
    return cfg


def test_config_helpers_and_checks(root):
    cfg = tiny(root)
    assert pretrain_eval_epochs(cfg) == [0, 1, 2] and paper_epoch_offset(cfg) == P
    assert pretrain_eval_epochs(tiny(root, [2, 0])) == [0, 2]
    off = tiny(root, None)
    assert pretrain_eval_epochs(off) == [] and paper_epoch_offset(off) == 0
    assert not check_experiment(cfg)
    assert any("pretrain_epochs: [3] not in 0..2" in p for p in check_experiment(tiny(root, [0, 3])))
    bad = tiny(root)
    bad["evaluation"]["paper_epoch_offset"] = 2
    assert any("paper_epoch_offset: 2 with pretrain_epochs" in p for p in check_experiment(bad))
    bad = tiny(root)
    bad["pretrain"]["select"] = "best_val"
    assert any("needs pretrain.select: last" in p for p in check_experiment(bad))


def test_paper_gtsrb_configs_evaluate_the_25_vanilla_epochs(root):
    for name in ("gtsrb_convnet", "gtsrb_preact18"):
        cfg = yaml.safe_load((root / "config" / "experiments" / f"{name}.yaml").read_text())
        assert pretrain_eval_epochs(cfg) == list(range(25)) and paper_epoch_offset(cfg) == 25, name
    for name in ("digits", "cifar10_preact18", "smoke"):  # Fig. 8 (CIFAR-10) shows adversarial training only
        cfg = yaml.safe_load((root / "config" / "experiments" / f"{name}.yaml").read_text())
        assert pretrain_eval_epochs(cfg) == [], name


@pytest.mark.e2e
def test_dry_run_adds_one_evaluate_job_per_chunk_of_vanilla_epochs(tmp_path, root):
    wd = copy_workflow(tmp_path)
    counts = {}
    for name, spec in (("tiny_off", None), ("tiny_all", "all"), ("tiny_two", [0, 2])):
        write_exp(wd, name, tiny(root, spec))
        proc = snakemake(wd, "-n", "--cores", "1", "--config", f"experiments=[{name}]")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        counts[name] = dry_run_jobs(proc)
    off = counts["tiny_off"]
    assert "evaluate_pretrain_epochs" not in off and off["evaluate_epochs"] == analysis_jobs(T + 1)
    for name, n in (("tiny_all", analysis_jobs(P)), ("tiny_two", 1)):
        c = counts[name]
        assert c["evaluate_pretrain_epochs"] == n, c
        assert c["total"] == off["total"] + n
        assert {k: v for k, v in c.items() if k not in ("evaluate_pretrain_epochs", "total")} == \
               {k: v for k, v in off.items() if k != "total"}


def _rerun_pretraining(data: dict, exp: dict, k: int) -> dict:
    """An independent re-run of the first `k` vanilla epochs (same seed, schedule over all
    pretrain.epochs), through the training loop directly, not through pretrain()'s keep path."""
    from advtrace.training import _train_epoch, make_optimizer, make_scheduler, model_from_data

    cfg = exp["pretrain"]
    torch.manual_seed(exp["seed"])
    gen = torch.Generator()
    gen.manual_seed(exp["seed"])
    model = model_from_data(exp["model"], data, "cpu")
    opt = make_optimizer(model, cfg["optimizer"])
    sched = make_scheduler(opt, cfg["schedule"], cfg["epochs"])
    for e in range(k):
        _train_epoch(model, opt, data["train_x"], data["train_y"], cfg, gen, "cpu", f"rerun {e + 1}")
        sched.step()
    return model.state_dict()


def _assert_same_weights(a: dict, b: dict) -> None:
    """Equal within float tolerance (never bit-exactness: reduction order differs between CPUs)."""
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key].float(), b[key].float(), rtol=1e-4, atol=1e-5, msg=key)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, root):
    wd = copy_workflow(tmp_path_factory.mktemp("wf"))
    write_exp(wd, "tiny", tiny(root))
    proc = snakemake(wd, "results/tiny/figures/fig08_learning_curves.png", "--cores", "2",
                     "--config", "experiments=[tiny]", timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return wd


@pytest.mark.e2e
def test_kept_vanilla_epochs_equal_an_independent_rerun(tiny_run, root):
    from advtrace.checkpoints import load_checkpoint
    from advtrace.data import load_dataset
    from advtrace.runtime import load_torch

    res = tiny_run / "results" / "tiny"
    kept = sorted(p.name for p in (res / "runs" / "main" / "checkpoints" / "pretrain").glob("*.pt"))
    assert kept == ["epoch_000.pt", "epoch_001.pt", "epoch_002.pt"]  # k = P is epoch 0, not duplicated
    assert not (res / "runs" / "main" / "checkpoints" / "pretrain_resume_epochs").exists()  # the staging dir is gone
    data = load_dataset(res / "data" / "dataset.pt")
    exp = tiny(root)
    for k in range(P):
        ckpt = load_torch(res / "runs" / "main" / "checkpoints" / "pretrain" / f"epoch_{k:03d}.pt")
        assert (ckpt["phase"], ckpt["pretrain_epoch"], ckpt["epoch"]) == ("pretrain", k, k - P)
        _assert_same_weights(ckpt["model"], _rerun_pretraining(data, exp, k))
    # epoch 0 of the adversarial chain stays the final pretrained model (all P epochs)
    _assert_same_weights(load_torch(res / "runs" / "main" / "checkpoints" / "epoch_000.pt")["model"], _rerun_pretraining(data, exp, P))
    # self-describing: the public loader reads a kept model too
    assert load_checkpoint(res / "runs" / "main" / "checkpoints" / "pretrain" / "epoch_001.pt").meta["pretrain_epoch"] == 1


@pytest.mark.e2e
def test_learning_curve_table_marks_phase_and_paper_epoch(tiny_run):
    from advtrace.tables import read_table

    lc = read_table(tiny_run / "results" / "tiny" / "tables" / "learning_curve.parquet", "learning_curve")
    per_epoch = lc.groupby(["phase", "epoch", "paper_epoch"]).size()
    assert list(per_epoch.index) == [("adversarial", 0, 3), ("adversarial", 1, 4),
                                     ("pretrain", -3, 0), ("pretrain", -2, 1), ("pretrain", -1, 2)]
    assert (per_epoch == 6).all()  # train/test x clean/FGSM/BI, same attacks and sets in both phases
    assert lc["paper_epoch"].is_monotonic_increasing  # parts in training order: vanilla, then adversarial
    assert set(lc["n"]) == {40}
    # the untrained model (paper epoch 0) is near chance on 10 classes; training raises clean accuracy
    clean = lc[(lc["attack"] == "clean") & (lc["split"] == "test")].set_index("paper_epoch")["accuracy"]
    assert clean[0] < 0.5 and clean[3] > clean[0]


@pytest.mark.e2e
def test_plot_puts_vanilla_epochs_on_the_paper_axis(tiny_run):
    import matplotlib

    matplotlib.use("Agg")
    from advtrace.plotting.learning import learning_curves
    from advtrace.tables import read_table

    png = tiny_run / "results" / "tiny" / "figures" / "fig08_learning_curves.png"
    assert png.stat().st_size > 1000
    lc = read_table(tiny_run / "results" / "tiny" / "tables" / "learning_curve.parquet", "learning_curve")
    ax = learning_curves(lc, "t").axes[0]
    lo, hi = ax.get_xlim()
    assert lo <= 0 and hi >= P + T  # paper epochs 0..2 vanilla, 3..4 adversarial
    assert list(ax.get_xticks()) == [0, 1, 2, 3, 4]
    for line in ax.get_lines():
        if line.get_label().startswith("clean, test"):
            assert list(line.get_xdata()) == [0, 1, 2, 3, 4]
    marker = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert len(marker) == 1 and list(marker[0].get_xdata()) == [P, P]  # where adversarial training starts
    labels = ax.get_legend_handles_labels()[1]
    assert "adversarial training starts (paper epoch 3)" in labels and "vanilla training (paper epochs 0–2)" in labels
    assert "paper's numbering" in ax.get_xlabel()


def test_killed_pretraining_keeps_every_epoch_after_resume(tmp_path, digits_cfg, monkeypatch):
    """A pretrain job killed after epoch 2 of 3 and rerun (Snakemake wipes the directory output; the
    staged kept models and the resume file survive): every kept model is there and equals an
    uninterrupted run's; the staging directory is removed."""
    import advtrace.training as tr
    from advtrace.runtime import load_torch
    from test_training import tiny_data

    exp = copy.deepcopy(digits_cfg)
    exp["model"]["width"] = 4
    exp["pretrain"].update(epochs=3, batch_size=32)
    data, dev = tiny_data(), torch.device("cpu")
    tr.pretrain(data, exp, dev, tmp_path / "ref" / "epoch_000.pt", keep_epochs=[0, 1, 2], keep_dir=tmp_path / "ref" / "kept")
    calls, real = {"n": 0}, tr._train_epoch

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real(*a, **k)

    run, resume = tmp_path / "run", tmp_path / "run" / "pretrain_resume.pt"
    monkeypatch.setattr(tr, "_train_epoch", dying)
    with pytest.raises(KeyboardInterrupt):
        tr.pretrain(data, exp, dev, run / "epoch_000.pt", resume_path=resume, keep_epochs=[0, 1, 2], keep_dir=run / "kept")
    assert sorted(p.name for p in (run / "pretrain_resume_epochs").glob("*.pt")) == ["epoch_000.pt", "epoch_001.pt",
                                                                                     "epoch_002.pt"]
    monkeypatch.setattr(tr, "_train_epoch", real)
    tr.pretrain(data, exp, dev, run / "epoch_000.pt", resume_path=resume, keep_epochs=[0, 1, 2], keep_dir=run / "kept")
    assert not resume.exists() and not (run / "pretrain_resume_epochs").exists()
    for k in range(3):
        _assert_same_weights(load_torch(run / "kept" / f"epoch_{k:03d}.pt")["model"],
                             load_torch(tmp_path / "ref" / "kept" / f"epoch_{k:03d}.pt")["model"])
    _assert_same_weights(load_torch(run / "epoch_000.pt")["model"], load_torch(tmp_path / "ref" / "epoch_000.pt")["model"])
    # a kept model is not the next one: training changed the weights between kept epochs
    a, b = (load_torch(tmp_path / "ref" / "kept" / f"epoch_{k:03d}.pt")["model"] for k in (1, 2))
    assert any(not torch.equal(a[key], b[key]) for key in a)
