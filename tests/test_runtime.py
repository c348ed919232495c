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
    ref = PreActResNet18(10, 3, width=4).eval()
    model = PreActResNet18(10, 3, width=4).eval()
    model.load_state_dict(ref.state_dict())
    model = prepare_model(model, RuntimeOptions(channels_last=setting))
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last) is expected
    x = torch.rand(4, 3, 16, 16)
    torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-5)
    assert set(model.state_dict()) == set(ref.state_dict())


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
