"""bench/gpu_check.sh (issue 20) and the runtime switches it measures (attack_amp, compile_mode).

The GPU check itself runs here in its reduced mode (tiny sizes, CPU): every step, the files it
writes under $OUT, and that run_bench.py --import merges its table. The CUDA-only branches
(bf16 adversary, CUDA-graph compile) have tests that skip without a GPU."""

import copy
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import gpu_check as G  # noqa: E402

from advtrace import attacks, runtime, training  # noqa: E402
from advtrace.config import load_schema, load_yaml, validate_experiment  # noqa: E402
from advtrace.models import PreActResNet18  # noqa: E402
from advtrace.runtime import RuntimeOptions, adversary_context, configure_runtime, prepare_model, save_torch  # noqa: E402

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(autouse=True)
def restore_options():
    before = runtime.runtime_options()
    yield
    configure_runtime(before)


# --------------------------------------------------------------------------- runtime switches

def test_new_switches_are_validated_and_exported(root):
    cfg = load_yaml(root / "config" / "config.yaml")
    assert cfg["attack_amp"] is False and cfg["compile_mode"] == "default"  # science-preserving defaults
    assert set(runtime.RUNTIME_KEYS) <= set(cfg)  # rules/common.smk exports exactly these
    assert configure_runtime({"attack_amp": True, "compile_mode": "reduce-overhead"}) == RuntimeOptions(
        attack_amp=True, compile_mode="reduce-overhead")
    with pytest.raises(ValueError, match="compile_mode"):
        configure_runtime({"compile_mode": "fast"})
    with pytest.raises(ValueError, match="attack_amp must be true or false"):
        configure_runtime({"attack_amp": "yes"})
    schema = load_schema(root / "config" / "schema.yaml")
    assert {"attack_amp", "compile_mode"} <= set(schema["required"])
    assert schema["properties"]["compile_mode"]["enum"] == list(runtime.COMPILE_MODES)


def test_prepare_model_passes_the_compile_mode(monkeypatch):
    seen = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: seen.append(kw))
    prepare_model(PreActResNet18(10, 1, width=8), RuntimeOptions(compile=True))
    prepare_model(PreActResNet18(10, 1, width=8), RuntimeOptions(compile=True, compile_mode="reduce-overhead"))
    prepare_model(PreActResNet18(10, 1, width=8), RuntimeOptions(compile=False, compile_mode="reduce-overhead"))
    assert seen == [{}, {"mode": "reduce-overhead"}]


def test_adversary_context_freezes_weights_and_restores_them():
    torch.manual_seed(0)
    model = PreActResNet18(10, 1, width=8)
    model.linear.weight.requires_grad_(False)  # a frozen layer stays frozen
    x = torch.rand(8, 1, 8, 8)
    y = attacks.predict(model, x)
    ref = attacks.bi(model, x, y, 32 / 255, 8 / 255, 3)
    with adversary_context(model, torch.device("cpu"), RuntimeOptions(attack_amp=True)):
        assert not any(p.requires_grad for p in model.parameters())
        assert not torch.is_autocast_enabled("cpu")  # bf16 is CUDA-only: a no-op on the CPU
        delta = attacks.bi(model, x, y, 32 / 255, 8 / 255, 3)
    torch.testing.assert_close(delta, ref, rtol=0, atol=1e-6)  # gradients w.r.t. the input only either way
    assert [n for n, p in model.named_parameters() if not p.requires_grad] == ["linear.weight"]
    with pytest.raises(RuntimeError):
        with adversary_context(model, torch.device("cpu")):
            raise RuntimeError("attack failed")
    assert [n for n, p in model.named_parameters() if not p.requires_grad] == ["linear.weight"]


def _tiny_exp(digits_cfg):
    exp = copy.deepcopy(digits_cfg)
    exp["model"]["width"] = 8
    exp["adv_train"].update(batch_size=32)
    exp["adv_train"]["attack"].update(iterations=2)
    return exp


def _tiny_data(n=64, c=1, s=8):
    g = torch.Generator().manual_seed(0)
    return {"num_classes": 10, "in_channels": c, "image_size": s, "mean": [0.5] * c, "std": [0.25] * c,
            "train_x": torch.randint(0, 256, (n, c, s, s), generator=g, dtype=torch.uint8),
            "train_y": torch.randint(0, 10, (n,), generator=g)}


def _adv_epoch(tmp_path, exp, data, device, options, tag):
    configure_runtime(options)
    torch.manual_seed(0)
    model = training.model_from_data(exp["model"], data, device)
    gen = torch.Generator().manual_seed(0)
    ckpt = {"epoch": 0, "phase": "pretrain", "model": model.state_dict(), "rng": gen.get_state(),
            "torch_rng": torch.get_rng_state(), "cuda_rng": []}
    save_torch(ckpt, tmp_path / "e0.pt")  # checksummed, as every checkpoint the workflow writes
    out = training.adv_train_epoch(tmp_path / "e0.pt", data, exp, 1, device, tmp_path / f"e1_{tag}.pt")
    return out["model"]


def test_attack_amp_is_a_no_op_on_cpu(tmp_path, digits_cfg):
    exp, data = _tiny_exp(digits_cfg), _tiny_data()
    a = _adv_epoch(tmp_path, exp, data, torch.device("cpu"), RuntimeOptions(), "fp32")
    b = _adv_epoch(tmp_path, exp, data, torch.device("cpu"), RuntimeOptions(attack_amp=True), "amp")
    for k in a:  # the same code path on the CPU: identical
        assert torch.equal(a[k], b[k]), k


@CUDA
def test_bf16_adversary_on_cuda_keeps_delta_fp32_and_in_bounds():
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = PreActResNet18(10, 3, width=16).to(dev).eval()
    x = torch.rand(64, 3, 32, 32, device=dev)
    y = attacks.predict(model, x)
    eps, alpha = 4 / 255, 1 / 255
    ref = attacks.bi(model, x, y, eps, alpha, 10)
    with adversary_context(model, dev, RuntimeOptions(attack_amp=True)):
        assert torch.is_autocast_enabled("cuda")
        delta = attacks.bi(model, x, y, eps, alpha, 10)
    assert delta.dtype == torch.float32
    assert float(delta.abs().max()) <= eps + 1e-6 and float((x + delta).min()) >= 0 and float((x + delta).max()) <= 1
    assert float((delta.sign() == ref.sign()).float().mean()) > 0.5  # bf16 flips some signs, not most
    assert all(p.requires_grad for p in model.parameters())


@CUDA
@pytest.mark.parametrize("options", [RuntimeOptions(attack_amp=True), RuntimeOptions(amp=True),
                                     RuntimeOptions(attack_amp=True, compile=True, compile_mode="reduce-overhead")],
                         ids=["attack_amp", "amp", "attack_amp-cudagraphs"])
def test_adversarial_epoch_runs_with_cuda_switches(tmp_path, digits_cfg, options):
    exp, data = _tiny_exp(digits_cfg), _tiny_data(96, 3, 32)
    if options.compile:
        torch._dynamo.reset()
    state = _adv_epoch(tmp_path, exp, data, torch.device("cuda"), options, "cuda")
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert all(v.dtype != torch.bfloat16 for v in state.values())  # weights stay fp32 under autocast


@CUDA
def test_bf16_agreement_on_cuda():
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = PreActResNet18(10, 3, width=16).to(dev).eval()
    x, y = torch.rand(64, 3, 32, 32, device=dev), torch.randint(0, 10, (64,), device=dev)
    agree = G.bf16_agreement(model, x, y, {"name": "bi", "eps": 4, "alpha": 1, "iterations": 10}, dev)
    assert agree["bf16_delta_dtype"] == "torch.float32" and 0.5 < agree["bf16_sign_agreement"] <= 1


# --------------------------------------------------------------------------- gpu_check helpers

def test_fabricated_cifar10_reads_through_torchvision_and_prepare_dataset(tmp_path, monkeypatch):
    tv_cifar = pytest.importorskip("torchvision.datasets.cifar")
    d = G.fabricate_cifar10(tmp_path, 23, 7)
    assert sorted(p.name for p in d.iterdir()) == sorted([f"data_batch_{i}" for i in range(1, 6)]
                                                         + ["test_batch", "batches.meta"])
    with open(d / "data_batch_1", "rb") as f:  # the CIFAR website's own snippet
        entry = pickle.load(f, encoding="bytes")
    assert entry[b"data"].dtype.name == "uint8" and entry[b"data"].shape == (5, 3072) and len(entry[b"labels"]) == 5
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))
    from advtrace.data import prepare_dataset

    cfg = {"name": "cifar10", "root": str(tmp_path), "download": False, "image_size": 32,
           "splits": {"train": {"source": "train", "n": 20}, "val": {"source": "train", "n": 3},
                      "test": {"source": "test", "n": 7}}}
    data = prepare_dataset(cfg, 0, tmp_path / "dataset.pt", root=tmp_path)
    assert data["train_x"].shape == (20, 3, 32, 32) and data["test_y"].shape == (7,)
    # learnable: images of one class are closer to each other than to another class's
    x, y = data["train_x"].float().flatten(1), data["train_y"]
    means = {int(c): x[y == c].mean(0) for c in y.unique()}
    assert len(means) > 1


def test_check_experiment_is_the_papers_setup_and_validates(root):
    schema = load_schema(root / "config" / "schema.yaml")
    paper = load_yaml(root / "config" / "experiments" / "cifar10_preact18.yaml")
    for reduced in (False, True):
        exp = G.at_experiment(reduced)
        validate_experiment(exp, schema, expected_name=G.AT_EXP)
        assert {k: v for k, v in exp["adv_train"].items() if k != "epochs"} == {
            k: v for k, v in paper["adv_train"].items() if k != "epochs"}
        assert exp["pretrain"]["epochs"] == 1 and exp["dataset"]["download"] is False
    assert G.at_experiment(False)["dataset"]["splits"]["train"]["n"] == 45000
    assert G.at_experiment(False)["model"] == paper["model"]
    assert G.at_experiment(True)["model"]["width"] >= 8  # runtime.channels_last_hazards: width >= 8 on CPU


def test_timed_sizes_keep_the_last_batch_shape():
    assert G.timed_sizes(45000, 128, 12800) == (2 * 128 + 72, 99 * 128 + 72)  # 45000 = 351·128 + 72
    assert G.timed_sizes(45000, 512, 12800) == (2 * 512 + 456, 24 * 512 + 456)
    assert G.timed_sizes(160, 128, 10**9) == (160, 160)


def _tables(path: Path, acc: float, loss: float) -> Path:
    path.mkdir(parents=True)
    pd.DataFrame({"epoch": [0, 1], "split": ["test", "test"], "accuracy": [0.5, acc], "train_loss": [1.0, loss],
                  "n": [100, 100]}).to_parquet(path / "learning_curve.parquet")
    return path


def test_compare_tables(tmp_path):
    a = _tables(tmp_path / "a", 0.80, 0.50)
    same = G.compare_tables(a, _tables(tmp_path / "b", 0.80, 0.50))
    assert [(r["name"], r["value"], r["meets"]) for r in same] == [("learning_curve", 0.0, True)]
    off = G.compare_tables(a, _tables(tmp_path / "c", 0.78, 0.51))[0]
    assert off["value"] == pytest.approx(2.0) and off["meets"] is False and "train_loss" in off["note"]
    (tmp_path / "c" / "extra.parquet").write_bytes((a / "learning_curve.parquet").read_bytes())
    extra = {r["name"]: r for r in G.compare_tables(a, tmp_path / "c")}["extra"]
    assert extra["meets"] is False and "only in the CPU run" in extra["note"]


def test_wheels_closure_and_offline_install(tmp_path, capsys):
    pins = G.wheel_closure()
    assert {"snakemake", "jsonschema", "torchattacks"} <= set(pins) and "torch" not in pins
    assert G.wheel_name(Path("snakemake_interface_common-1.23.0-py3-none-any.whl")) == (
        "snakemake_interface_common", "1.23.0")
    wheels = tmp_path / "whl"
    wheels.mkdir()
    import yaml

    (wheels / f"PyYAML-{yaml.__version__}-cp312-cp312-manylinux_2_17_x86_64.whl").write_bytes(b"")
    assert G.install_wheels(wheels, tmp_path / "site") == 0  # present here: nothing to install
    assert "already installed" in capsys.readouterr().out


# --------------------------------------------------------------------------- the script, reduced mode

@pytest.mark.e2e
def test_gpu_check_reduced_mode(tmp_path):
    """The whole script on tiny sizes (CPU here): every step runs and writes what --import merges."""
    out, work = tmp_path / "out", tmp_path / "work"
    env = dict(os.environ, OUT=str(out), GPU_CHECK_WORK=str(work), PYTHON=sys.executable, GPU_CHECK_THREADS="1",
               GPU_CHECK_NOTE="pytest")
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--reduced"], env=env, capture_output=True,
                          text=True, timeout=2400)
    log = proc.stdout[-6000:] + proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    steps = {s["step"]: s["status"] for s in summary["steps"]}
    assert steps == {"env": "ok", "bench": "ok", "at_epoch": "ok", "smoke": "ok", "report": "ok"}, log
    assert proc.returncode == 0, log
    for name in ("gpu_check.log", "steps.tsv", "at_epoch.json", "smoke_compare.json", "results/BENCHMARKS.md"):
        assert (out / name).is_file(), name
    (table,) = (out / "results").glob("*.parquet")
    df = pd.read_parquet(table)
    assert set(df["part"]) == {"attack", "train", "transfer", "switches", "at_epoch", "smoke"}
    at = df[df["part"] == "at_epoch"]
    job = at[at["variant"] == "job"].iloc[0]
    assert job["value"] > 0 and job["images"] == 300, job["note"]
    assert at.loc[at["variant"] == "as configured", "value"].iloc[0] > 0
    assert at["name"].str.startswith("bf16_sign_agreement").any()
    assert (df.loc[df["section"] == "compare", "meets"] == True).all()  # noqa: E712 - two CPU runs agree
    at_json = json.loads((out / "at_epoch.json").read_text())
    assert at_json["job"]["rc"] == 0 and "as configured" in at_json["variants"]
    report = (out / "results" / "BENCHMARKS.md").read_text()
    assert "Adversarial-training epoch, CIFAR-10 shape" in report and "Smoke experiment through Snakemake" in report
    merged = tmp_path / "merged"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run_bench.py"), "--import", str(table), "--out",
                           str(merged)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (merged / table.name).is_file() and "adv_epoch_45k_s" in (merged / "BENCHMARKS.md").read_text()
