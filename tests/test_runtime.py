"""Runtime speed switches (config/config.yaml top level → ADVTRACE_RUNTIME → setup_job)."""

import json
import logging

import pytest
import torch

from advtrace import runtime
from advtrace.config import load_schema, load_yaml, schema_errors
from advtrace.models import PreActResNet18
from advtrace.runtime import RuntimeOptions, autocast, configure_runtime, prepare_model, runtime_options


@pytest.fixture(autouse=True)
def restore_options():
    before = runtime_options()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # setup_job replaces the root handlers
    yield
    configure_runtime(before)
    root.handlers[:] = handlers
    root.setLevel(level)


def _top_schema(root):
    schema = load_schema(root / "config" / "schema.yaml")
    return {k: v for k, v in schema.items() if k != "$defs"}, schema


def test_shipped_config_has_valid_switches(root):
    top, schema = _top_schema(root)
    cfg = load_yaml(root / "config" / "config.yaml")
    assert schema_errors(cfg, top, schema) == []
    assert {cfg["amp"], cfg["channels_last"], cfg["compile"]} <= {True, False, "auto"}
    bad = dict(cfg, channels_last="sometimes")
    assert any("channels_last" in e for e in schema_errors(bad, top, schema))
    missing = {k: v for k, v in cfg.items() if k != "amp"}
    assert any("amp" in e for e in schema_errors(missing, top, schema))


def test_configure_runtime_validates():
    assert configure_runtime({"amp": True}) == RuntimeOptions(amp=True)
    with pytest.raises(ValueError, match="unknown runtime options"):
        configure_runtime({"amp": False, "fast": True})
    with pytest.raises(ValueError, match="channels_last"):
        configure_runtime({"channels_last": "sometimes"})


@pytest.mark.parametrize("setting,expected", [(True, True), (False, False), ("auto", True)])
def test_prepare_model_channels_last(setting, expected):
    torch.manual_seed(0)
    ref = PreActResNet18(10, 3, width=8).eval()
    model = PreActResNet18(10, 3, width=8).eval()
    model.load_state_dict(ref.state_dict())
    model = prepare_model(model, RuntimeOptions(channels_last=setting))
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last) is expected
    x = torch.rand(4, 3, 16, 16)
    torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-5)
    assert set(model.state_dict()) == set(ref.state_dict())


def test_channels_last_hazards_name_the_narrow_strided_1x1_convolutions():
    # width 4: the 1x1 stride-2 shortcut of layer2 reads 4 channels (< 8); width 8 reads 8
    assert runtime.channels_last_hazards(PreActResNet18(10, 1, width=4)) == ["layer2.0.shortcut"]
    assert runtime.channels_last_hazards(PreActResNet18(10, 1, width=8)) == []
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1, stride=1), torch.nn.Conv2d(4, 8, 3, stride=2, padding=1))
    assert runtime.channels_last_hazards(conv) == []  # stride 1 and 3x3 kernels are safe


def test_auto_layout_avoids_the_hazard_on_cpu_only():
    narrow = PreActResNet18(10, 1, width=4)
    auto = RuntimeOptions(channels_last="auto")
    assert runtime.uses_channels_last(narrow, auto) is False  # device None = CPU
    assert runtime.uses_channels_last(narrow, auto, "cpu") is False
    assert runtime.uses_channels_last(narrow, auto, "cuda") is True  # cuDNN is unaffected
    assert runtime.uses_channels_last(PreActResNet18(10, 1, width=16), auto, "cpu") is True
    model = prepare_model(narrow, auto, "cpu")
    assert not model.layer1[0].conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_explicit_channels_last_on_an_unsafe_model_is_a_clear_error():
    with pytest.raises(ValueError, match=r"layer2\.0\.shortcut.*channels_last: auto"):
        prepare_model(PreActResNet18(10, 1, width=4), RuntimeOptions(channels_last=True), "cpu")


_NARROW_TRAINING = """
import sys, torch
from advtrace.models import PreActResNet18
from advtrace.runtime import RuntimeOptions, prepare_model
torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
model = prepare_model(PreActResNet18(10, 1, width=4), RuntimeOptions(channels_last="auto"), "cpu")
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.rand(64, 1, 8, 8), torch.randint(0, 10, (64,))
for _ in range(5):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
print("trained", all(bool(p.isfinite().all()) for p in model.parameters()))
"""


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isa", [None, "AVX2"])
def test_narrow_model_trains_without_crashing_oneDNN(threads, isa):
    """Regression (width-4 pre-act ResNet, 8x8x1 inputs): with channels_last this aborted the process
    on AVX2 kernels with 1 thread and hung with 2. Run in a subprocess so a regression fails this
    test instead of killing pytest; ONEDNN_MAX_CPU_ISA=AVX2 reproduces AVX2-only hosts anywhere."""
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    if isa:
        env["ONEDNN_MAX_CPU_ISA"] = isa
    proc = subprocess.run([sys.executable, "-c", _NARROW_TRAINING, str(threads)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.stdout.strip() == "trained True"


def test_compile_keeps_state_dict_keys():
    model = prepare_model(PreActResNet18(10, 1, width=4), RuntimeOptions(channels_last=False, compile=True))
    assert all(not k.startswith("_orig_mod") for k in model.state_dict())  # checkpoints stay loadable


def test_autocast_only_on_cuda():
    with autocast(torch.device("cpu"), RuntimeOptions(amp=True)):
        assert not torch.is_autocast_enabled("cpu")


def test_setup_job_reads_switches_from_environment(monkeypatch):
    monkeypatch.setenv(runtime.RUNTIME_ENV, json.dumps({"amp": False, "channels_last": False, "compile": False}))
    runtime.setup_job(torch.get_num_threads(), "cpu")
    assert runtime_options() == RuntimeOptions(channels_last=False)
    runtime.setup_job(torch.get_num_threads(), "cpu", runtime={"channels_last": True})  # explicit wins
    assert runtime_options().channels_last is True


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_writes_respect_the_umask(tmp_path, umask):
    """Results get the mode any new file gets (0666 & ~umask), not mkstemp's 0600: a group
    sharing a results directory can read figures, tables and checkpoints."""
    import os
    import stat

    import pandas as pd

    old = os.umask(umask)
    try:
        with runtime.atomic_path(tmp_path / "sub" / "plain.txt") as tmp:
            tmp.write_text("x")
        runtime.save_torch({"a": torch.zeros(1)}, tmp_path / "ckpt.pt")
        with runtime.atomic_path(tmp_path / "t.parquet") as tmp:
            pd.DataFrame({"a": [1]}).to_parquet(tmp)
    finally:
        os.umask(old)
    for name in ("sub/plain.txt", "ckpt.pt", "t.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask, name
    assert not list(tmp_path.rglob(".*.tmp")), "temporary files left behind"


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with runtime.atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def _cifar_shaped_data(name="cifar10"):
    return {"name": name, "num_classes": 10, "in_channels": 3, "image_size": 8, "mean": [0.5] * 3, "std": [0.25] * 3}


@pytest.mark.parametrize("device, dataset, warns", [
    ("auto", "cifar10", True),    # paper scale, auto fell back to the CPU: loud
    ("auto", "gtsrb", True),
    ("auto", "digits", False),    # the CPU experiment
    ("cpu", "cifar10", False),    # CPU on purpose
])
def test_gpu_job_falling_back_to_cpu_on_paper_scale_warns_in_log_and_terminal(monkeypatch, device, dataset, warns):
    import io
    import sys

    from advtrace.training import model_from_data

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a GPU machine
    monkeypatch.setattr(runtime, "_cpu_fallback_warned", False)
    monkeypatch.setattr(runtime, "_device_request", None)
    log_file, terminal = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", log_file)        # job scripts point sys.stderr at their log
    monkeypatch.setattr(sys, "__stderr__", terminal)    # the process's own stderr: Snakemake's terminal
    dev = runtime.setup_job(1, device, runtime={"channels_last": False})
    model_from_data({"name": "preact_resnet18", "width": 4}, _cifar_shaped_data(dataset), dev)
    model_from_data({"name": "preact_resnet18", "width": 4}, _cifar_shaped_data(dataset), dev)
    for text in (log_file.getvalue(), terminal.getvalue()):
        assert ("running on the CPU" in text) == warns, text
    if warns:
        assert terminal.getvalue().count("running on the CPU") == 1  # once per job, not per model
        for needle in ("driver >= 580", "--index-url https://download.pytorch.org/whl/cu", "device: cuda"):
            assert needle in terminal.getvalue()


def test_no_cpu_fallback_warning_outside_jobs(monkeypatch):
    monkeypatch.setattr(runtime, "_device_request", None)
    monkeypatch.setattr(runtime, "_cpu_fallback_warned", False)
    assert runtime.check_device_for_dataset("cpu", "cifar10") is False


@pytest.mark.parametrize("line, version", [
    ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023", "535.104.05"),
    ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  (dvs-builder@U16)", "580.65.06"),
])
def test_nvidia_driver_version(tmp_path, line, version):
    (tmp_path / "version").write_text(line + "\nGCC version:  gcc version 12.3.0\n")
    assert runtime.nvidia_driver_version(tmp_path / "version") == version
    assert runtime.nvidia_driver_version(tmp_path / "absent") is None
