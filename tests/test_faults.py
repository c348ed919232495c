"""Fault injection (issue 18): every fault is injected by the test itself — runtime-switch and code
changes against a cached run, corrupted / truncated checkpoints, a save killed mid-write, a full
disk, a diverging loss, broken figures' reproducibility, bad configuration files."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import pytest
import torch

from conftest import analysis_jobs, copy_workflow, dry_run_jobs, snakemake


def _smoke(*args: str) -> tuple[str, ...]:
    return ("--config", "experiments=[smoke]", *args)


@pytest.fixture(scope="module")
def cached_smoke(tmp_path_factory):
    """A workflow copy whose smoke DAG is complete and recorded in Snakemake's metadata, without
    running a job: every output is created empty, then `--touch --forceall` records each job's
    params and code as if it had run. Dry runs against it show what a change would re-run."""
    wd = copy_workflow(tmp_path_factory.mktemp("cached"))
    proc = snakemake(wd, *_smoke("--summary"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = [line.split("\t")[0] for line in proc.stdout.splitlines()[1:] if line.strip()]
    assert len(outputs) > 50
    for out in outputs:
        path = wd / out
        path.parent.mkdir(parents=True, exist_ok=True)
        # directory outputs (perturb_epochs, universal_generate, train_detectors, pretrain's kept vanilla epochs)
        if re.search(r"/(perturbations|universal)/epochs_\d{3}-\d{3}$|/detectors/epoch_\d{3}$|/checkpoints/pretrain$", out):
            path.mkdir(exist_ok=True)
        else:
            path.touch()
    proc = snakemake(wd, *_smoke("--touch", "--forceall", "--cores", "1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = snakemake(wd, *_smoke("-n"))
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]
    return wd


def _dry(wd, *config: str) -> dict[str, int]:
    """{rule: jobs} a dry run of smoke would run (`config`: extra --config KEY=VALUE items)."""
    proc = snakemake(wd, "--config", "experiments=[smoke]", *config, "-n")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    counts.pop("total", None)
    counts.pop("all", None)  # the default target: listed whenever anything runs
    return counts


# --- 1. the device is a runtime switch, not a param ---------------------------------------------------

@pytest.mark.e2e
def test_changing_device_reruns_nothing(cached_smoke):
    assert _dry(cached_smoke, "device=cpu") == {}
    assert _dry(cached_smoke, "device=cuda:1", "amp=True", "channels_last=False") == {}


def test_setup_job_takes_device_from_environment(monkeypatch):
    import logging

    from advtrace import runtime

    root = logging.getLogger()
    handlers, level, before = root.handlers[:], root.level, runtime.runtime_options()
    try:
        monkeypatch.setenv(runtime.RUNTIME_ENV, json.dumps({"device": "cpu", "amp": False, "channels_last": False,
                                                             "compile": False}))
        assert runtime.setup_job(torch.get_num_threads()) == torch.device("cpu")
        assert runtime.runtime_options().channels_last is False
        monkeypatch.setenv(runtime.RUNTIME_ENV, json.dumps({"device": "cuda:7"}))
        if not torch.cuda.is_available():
            with pytest.raises(RuntimeError, match="CUDA is not available"):
                runtime.setup_job(torch.get_num_threads())
    finally:
        runtime.configure_runtime(before)
        root.handlers[:] = handlers
        root.setLevel(level)


# --- 2. library code changes re-run what uses the changed code; comments and docstrings re-run nothing --

@contextmanager
def edited(wd, rel, *replacements):
    """Apply (old, new) text replacements to `wd/rel` for the duration of the block."""
    path = wd / rel
    original = path.read_text()
    text = original
    for old, new in replacements:
        assert old in text, f"{old!r} not in {rel}"
        text = text.replace(old, new, 1)
    path.write_text(text)
    try:
        yield
    finally:
        path.write_text(original)


PLOT_RULES = {"plot_learning_curves", "plot_universal_accuracy", "plot_universal_images", "plot_destruction",
              "plot_stability_profiles", "plot_sharedness_vs_stability", "plot_transfer_error", "plot_maxmin_minmax",
              "plot_sharedness", "plot_detectability", "plot_detector_max"}


@pytest.mark.e2e
def test_editing_a_plot_function_reruns_that_plot_only(cached_smoke):
    with edited(cached_smoke, "src/advtrace/plotting/stability.py",
                ('ax.set_title(title or "Sharedness of adversarial perturbations", fontsize=10.5)',
                 'ax.set_title(title or "Sharedness of adversarial perturbations", fontsize=11)')):
        assert _dry(cached_smoke) == {"plot_sharedness": 1}
    with edited(cached_smoke, "src/advtrace/plotting/__init__.py", ("dpi: int = 150", "dpi: int = 200")):
        assert set(_dry(cached_smoke)) == PLOT_RULES  # save_figure: every plot, nothing else


@pytest.mark.e2e
def test_editing_training_reruns_training_and_its_dependants(cached_smoke):
    with edited(cached_smoke, "src/advtrace/training.py",
                ("    total_loss = float(loss_sum) / max(1, seen)", "    total_loss = float(loss_sum) / max(1, seen) + 0.0")):
        counts = _dry(cached_smoke)
    # main's 3 epochs and smoke's run fgsm_ground_truth's 1 (one rule trains every run)
    assert counts["pretrain"] == 1 and counts["adv_train_epoch"] == 3 + 1
    assert counts["evaluate_epochs"] == analysis_jobs(4) and "plot_learning_curves" in counts and "claims" in counts
    assert "prepare_data" not in counts and "draw_samples" not in counts


@pytest.mark.e2e
def test_editing_attack_kwargs_in_config_reruns_its_users(cached_smoke):
    with edited(cached_smoke, "src/advtrace/config.py",
                ("kw[key] = value / 255.0 if key in PIXEL_KEYS else value", "kw[key] = value / 255 if key in PIXEL_KEYS else value")):
        counts = _dry(cached_smoke)
    assert counts["adv_train_epoch"] == 3 + 1 and counts["perturb_epochs"] > 0  # both reach attack_kwargs
    assert "pretrain" not in counts  # pretraining has no adversary: its code did not change
    assert "prepare_data" not in counts and "draw_samples" not in counts


@pytest.mark.e2e
def test_comment_docstring_and_validation_edits_rerun_nothing(cached_smoke):
    with edited(cached_smoke, "src/advtrace/training.py",
                ('"""Pretraining (epoch 0)', '"""Pretraining (epoch zero)'),
                ("    total_loss = float(loss_sum) / max(1, seen)",
                 "    # a new comment\n    total_loss = float(loss_sum) / max(1, seen)  # mean over the epoch")), \
         edited(cached_smoke, "src/advtrace/runtime.py",
                ('    """Load a file written by :func:`save_torch`', '    """Load (docstring edited) a file written by :func:`save_torch`'),
                ("\n\ndef load_torch(", "\n\n# moved down by a comment and blank lines\n\n\ndef load_torch(")), \
         edited(cached_smoke, "src/advtrace/plotting/stability.py",
                ('"""Fig. 11: distribution over perturbations', '"""Fig. 11 (edited): distribution over perturbations')), \
         edited(cached_smoke, "src/advtrace/config.py",  # validation next to attack_kwargs: used at parse time only
                ("'multistep' needs at least one milestone", "'multistep' needs one milestone at least")):
        assert _dry(cached_smoke) == {}


@pytest.mark.e2e
def test_touch_accepts_a_result_neutral_code_change(cached_smoke):
    """The README's way to keep cached results after a refactoring known not to change them."""
    edit = ('ax.set_title(title or "Sharedness of adversarial perturbations", fontsize=10.5)',
            'ax.set_title(title or "Sharedness of adversarial perturbations", fontsize=10.5, loc="center")')
    try:
        with edited(cached_smoke, "src/advtrace/plotting/stability.py", edit):
            assert _dry(cached_smoke) == {"plot_sharedness": 1}
            proc = snakemake(cached_smoke, *_smoke("--touch", "--cores", "1"))
            assert proc.returncode == 0, proc.stderr[-3000:]
            assert _dry(cached_smoke) == {}
    finally:  # record the original code again for the other tests of this module
        assert snakemake(cached_smoke, *_smoke("--touch", "--cores", "1")).returncode == 0
    assert _dry(cached_smoke) == {}


_PKG = {
    "__init__.py": '"""the package"""\n',
    "a.py": (
        '"""module a"""\n'
        "from .b import helper\n"
        "from . import c\n"
        "SCALE = 2\n\n"
        "def used(x):\n"
        '    """doc"""\n'
        "    return helper(x) * SCALE + c.offset()\n\n"
        "def unused(x):\n"
        "    return x - 1\n\n"
        "if __name__ == '__main__':\n"
        "    print(unused(1))\n"),
    "b.py": "def helper(x):\n    return x + 1\n\ndef other():\n    return 0\n",
    "c.py": "def offset():\n    return 3\n\ndef spare():\n    return 4\n",
    "d.py": "def pick(name):\n    return globals()[name]()\n\ndef one():\n    return 1\n",
}


def _fingerprint_after(tmp_path, edits=()):
    from advtrace.codehash import script_fingerprint

    src = tmp_path / "src"
    pkg = src / "advtrace"
    pkg.mkdir(parents=True, exist_ok=True)
    files = dict(_PKG)
    for name, old, new in edits:
        assert old in files[name], (name, old)
        files[name] = files[name].replace(old, new)
    for name, text in files.items():
        (pkg / name).write_text(text)
    script = tmp_path / "job.py"
    script.write_text("from advtrace.a import used\nfrom advtrace import d\nprint(used(1), d.pick('one'))\n")
    return script_fingerprint(script, src)


@pytest.mark.parametrize("edits,changes", [
    ([("a.py", '"""doc"""', '"""another docstring"""')], False),
    ([("a.py", "    return helper(x)", "    # a comment\n\n    return helper(x)")], False),
    ([("a.py", "def unused(x):\n    return x - 1", "def unused(x):\n    return x - 2")], False),
    ([("a.py", "print(unused(1))", "print(unused(2))")], False),  # the __main__ block never runs on import
    ([("b.py", "return 0", "return 9")], False),  # b.other: not reached
    ([("c.py", "return 4", "return 5")], False),  # c.spare: c is used as c.offset only
    ([("a.py", "SCALE = 2", "SCALE = 3")], True),
    ([("b.py", "return x + 1", "return x + 2")], True),  # reached through `from .b import helper`
    ([("c.py", "return 3", "return 5")], True),
    ([("d.py", "return 1", "return 2")], True),  # globals(): the whole module
    ([("__init__.py", '"""the package"""\n', '"""the package"""\nVERSION = 2\nprint(VERSION)\n')], True),
])
def test_code_fingerprint_follows_reachable_code_only(tmp_path, edits, changes):
    base = _fingerprint_after(tmp_path / "base")
    assert (_fingerprint_after(tmp_path / "edited", edits) != base) is changes


# --- 3. figures are reproducible byte for byte --------------------------------------------------------

_FIG11 = """
import sys, numpy as np, pandas as pd
sys.path.insert(0, {src!r})
np.random.seed(int(sys.argv[2]))  # a different global NumPy state in each process
from advtrace.plotting import save_figure
from advtrace.plotting.stability import sharedness
rng = np.random.default_rng(0)
sh = pd.DataFrame({{"epoch": np.repeat([0, 3], 40), "pct_effective": rng.uniform(0, 9, 80)}})
summary = pd.DataFrame({{"epoch": [0, 3], "mean_pct": [4.0, 3.0], "min_pct": [0.0, 0.1], "max_pct": [9.0, 8.0],
                        "n_other_correct": [90, 95], "n_other": [100, 100], "n_perturbations": [40, 40]}})
save_figure(sharedness(sh, summary, "t"), sys.argv[1] + ".pdf", sys.argv[1] + ".png")
"""


def test_figures_are_byte_identical_across_runs(tmp_path, root):
    import os
    import subprocess
    import sys

    script = tmp_path / "fig11.py"
    script.write_text(_FIG11.format(src=str(root / "src")))
    for run, (hashseed, npseed) in enumerate([("1", "1"), ("2", "12345")]):
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}  # no help from outside
        env["PYTHONHASHSEED"] = hashseed
        proc = subprocess.run([sys.executable, str(script), str(tmp_path / f"run{run}"), npseed], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    for ext in ("pdf", "png"):
        a, b = (tmp_path / f"run0.{ext}").read_bytes(), (tmp_path / f"run1.{ext}").read_bytes()
        assert a == b, f"fig11 .{ext} differs between two identical runs"
    assert b"CreationDate" not in (tmp_path / "run0.pdf").read_bytes()


# --- 4./5. checkpoints: checksum, truncation, killed saves, full disk; non-finite loss -----------------

def _checkpoint(path):
    from advtrace.runtime import save_torch

    g = torch.Generator().manual_seed(0)
    state = {"conv.weight": torch.randn(64, 64, 3, 3, generator=g), "bn.running_mean": torch.zeros(64)}
    save_torch({"epoch": 2, "phase": "adv", "model": state, "rng": torch.arange(16, dtype=torch.uint8)}, path)
    return state


def test_checkpoint_round_trip_verifies_and_hides_checksum(tmp_path):
    from advtrace.runtime import CHECKSUM_KEY, load_torch

    state = _checkpoint(tmp_path / "epoch_002.pt")
    ck = load_torch(tmp_path / "epoch_002.pt")
    assert CHECKSUM_KEY not in ck and ck["epoch"] == 2
    assert torch.equal(ck["model"]["conv.weight"], state["conv.weight"])


def test_checkpoint_corrupted_without_changing_size_is_refused(tmp_path):
    """4 KiB of tensor bytes overwritten in place: same size, still a valid zip and pickle."""
    from advtrace.runtime import CheckpointError, load_torch

    path = tmp_path / "checkpoints" / "epoch_002.pt"
    state = _checkpoint(path)
    raw = bytearray(path.read_bytes())
    size = len(raw)
    weights = state["conv.weight"].numpy().tobytes()
    at = bytes(raw).find(weights[:64])
    assert at > 0, "tensor bytes not found in the file"
    raw[at + 1024: at + 1024 + 4096] = torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(1),
                                                     dtype=torch.uint8).numpy().tobytes()
    path.write_bytes(bytes(raw))
    assert path.stat().st_size == size
    with pytest.raises(CheckpointError) as exc:
        load_torch(path)
    msg = str(exc.value)
    assert str(path) in msg and "checksum mismatch" in msg and f"--forcerun {path}" in msg, msg


def test_truncated_checkpoint_names_file_and_cause(tmp_path):
    from advtrace.runtime import CheckpointError, load_torch

    path = tmp_path / "epoch_002.pt"
    _checkpoint(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError) as exc:
        load_torch(path)
    msg = str(exc.value)
    assert str(path) in msg and "truncated or corrupted" in msg and "--forcerun" in msg, msg
    assert "central directory" in msg  # torch's own words kept as the detail


def test_unchecksummed_or_malicious_file_is_refused(tmp_path):
    from advtrace.runtime import CheckpointError, load_torch

    plain = tmp_path / "plain.pt"
    torch.save({"model": {"w": torch.ones(2)}}, plain)
    with pytest.raises(CheckpointError, match="plain.pt: has no content checksum"):
        load_torch(plain)
    evil = tmp_path / "evil.pt"
    torch.save({"model": {"w": torch.ones(2)}, "payload": _Evil()}, evil)
    with pytest.raises(CheckpointError, match=r"evil.pt: cannot be read .*not plain tensor data"):
        load_torch(evil)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


_KILLED_SAVE = """
import sys, time
sys.path.insert(0, {src!r})
from advtrace.runtime import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a checkpoint" * 1000)
    print("writing", flush=True)
    time.sleep(120)
"""


def test_save_killed_mid_write_leaves_temp_that_next_save_removes(tmp_path, root):
    import subprocess
    import sys

    from advtrace.runtime import load_torch

    ckpts = tmp_path / "checkpoints"
    target = ckpts / "epoch_002.pt"
    script = tmp_path / "killed.py"
    script.write_text(_KILLED_SAVE.format(src=str(root / "src")))
    proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.kill()  # SIGKILL: no finally block, no cleanup
        proc.wait(timeout=60)
    stale = list(ckpts.glob(".epoch_002.pt.*.tmp"))
    assert len(stale) == 1 and not target.exists()
    other = ckpts / ".epoch_001.pt.abcd1234.tmp"  # another target's temp file (a live write, say) stays
    other.write_bytes(b"x")
    _checkpoint(target)
    assert not stale[0].exists() and other.exists()
    assert sorted(p.name for p in ckpts.iterdir()) == [".epoch_001.pt.abcd1234.tmp", "epoch_002.pt"]
    assert load_torch(target)["epoch"] == 2


class _FullDisk:
    """A file object whose writes fail like a full disk (ENOSPC)."""

    def __init__(self, path, mode):
        self.fh = open(path, mode)

    def write(self, data):
        import errno

        self.fh.write(bytes(data)[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def test_full_disk_names_file_and_cause(tmp_path, monkeypatch):
    from advtrace import runtime

    target = tmp_path / "checkpoints" / "epoch_002.pt"
    monkeypatch.setattr(runtime, "open", _FullDisk, raising=False)  # save_torch's open() of the temp file
    with pytest.raises(OSError) as exc:
        _checkpoint(target)
    msg = str(exc.value)
    assert f"could not write {target}: the disk is full" in msg and "MiB free" in msg, msg
    assert not target.exists() and not list(target.parent.iterdir()), "temp file left on a full disk"


_REAL_FULL_DISK = """
import sys
sys.path.insert(0, {src!r})
import torch
from advtrace.runtime import save_torch
try:
    save_torch({{"model": {{"w": torch.zeros(1 << 18)}}}}, sys.argv[1] + "/epoch_002.pt")  # 1 MiB into 256 KiB
except OSError as err:
    print("ERROR", err)
"""


def test_full_disk_on_a_real_tiny_file_system(tmp_path, root):
    """A 256 KiB tmpfs in a private mount namespace (root, or an unprivileged user namespace)."""
    import shutil
    import subprocess
    import sys

    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = tmp_path / "full.py"
    script.write_text(_REAL_FULL_DISK.format(src=str(root / "src")))
    inner = f"mount -t tmpfs -o size=256k tmpfs {mnt} && {sys.executable} {script} {mnt} && ls -a {mnt}"
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", inner], capture_output=True, text=True, timeout=300)
    if "mount" in proc.stderr and proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[:200]}")
    assert f"ERROR [Errno 28] could not write {mnt}/epoch_002.pt: the disk is full" in proc.stdout, \
        proc.stdout + proc.stderr
    assert ".tmp" not in proc.stdout.split("ERROR")[1], "temp file left on the full disk"


def test_unusable_pretrain_resume_file_is_ignored(tmp_path, digits_cfg):
    """A resume file that fails verification (here: truncated) must not block pretraining forever."""
    import copy

    from advtrace.runtime import load_torch
    from advtrace.training import pretrain
    from test_training import tiny_data

    exp = copy.deepcopy(digits_cfg)
    exp["model"]["width"] = 4
    exp["pretrain"].update(epochs=1, batch_size=32)
    resume = tmp_path / "pretrain_resume.pt"
    _checkpoint(resume)
    resume.write_bytes(resume.read_bytes()[:1000])
    pretrain(tiny_data(), exp, torch.device("cpu"), tmp_path / "epoch_000.pt", resume_path=resume)
    assert load_torch(tmp_path / "epoch_000.pt")["epoch"] == 0 and not resume.exists()


def test_non_finite_loss_fails_at_once_naming_epoch_and_batch(tmp_path, digits_cfg):
    """A NaN weight in the previous checkpoint (it diverged, or was corrupted before checksums)."""
    import copy

    from advtrace.runtime import NonFiniteLoss, load_torch, save_torch
    from advtrace.training import adv_train_epoch, pretrain
    from test_training import tiny_data

    exp = copy.deepcopy(digits_cfg)
    exp["model"]["width"] = 4
    exp["pretrain"].update(epochs=1, batch_size=32)
    exp["adv_train"].update(batch_size=32)
    exp["adv_train"]["attack"].update(iterations=1)
    data, dev = tiny_data(), torch.device("cpu")
    pretrain(data, exp, dev, tmp_path / "epoch_000.pt")
    ck = load_torch(tmp_path / "epoch_000.pt")
    name = next(k for k, v in ck["model"].items() if v.is_floating_point() and v.dim() == 4)
    ck["model"][name][0, 0, 0, 0] = float("nan")
    save_torch(ck, tmp_path / "epoch_000.pt")
    with pytest.raises(NonFiniteLoss, match=r"non-finite training loss \(nan\) in adversarial epoch 1, batch 1/3"):
        adv_train_epoch(tmp_path / "epoch_000.pt", data, exp, 1, dev, tmp_path / "epoch_001.pt")
    assert not (tmp_path / "epoch_001.pt").exists()


def test_non_finite_detector_loss_fails_naming_epoch_and_batch():
    from advtrace.detectors import Detector, train_detector
    from advtrace.runtime import NonFiniteLoss

    g = torch.Generator().manual_seed(0)
    clean, adv = torch.rand(40, 1, 8, 8, generator=g), torch.rand(40, 1, 8, 8, generator=g)
    adv[5, 0, 3, 3] = float("inf")  # a broken adversarial input: the loss of its batch is not finite
    det = Detector(1, [4, 4, 4], pools=1, mean=[0.5], std=[0.25])
    cfg = {"epochs": 2, "batch_size": 80, "lr": 1e-3, "beta1": 0.9, "beta2": 0.999}
    with pytest.raises(NonFiniteLoss, match=r"in detector training epoch 1/2, batch 1/1"):
        train_detector(det, (clean, adv), (clean[:8], adv[:8]), cfg, torch.device("cpu"), g)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (the asynchronous check)")
def test_loss_guard_on_cuda_names_the_right_batch():
    from advtrace.runtime import LossGuard, NonFiniteLoss

    guard = LossGuard("adversarial epoch 7", 5, torch.device("cuda"))
    losses = torch.tensor([0.5, 0.4, float("nan"), 0.3, 0.2], device="cuda")
    with pytest.raises(NonFiniteLoss, match=r"adversarial epoch 7, batch 3/5"):
        for b in range(5):
            guard.check(losses[b], b)
        guard.flush()
    last = LossGuard("adversarial epoch 7", 2, torch.device("cuda"))
    last.check(losses[0], 0)
    last.check(torch.tensor(float("inf"), device="cuda"), 1)  # the last batch: caught by flush
    with pytest.raises(NonFiniteLoss, match=r"batch 2/2"):
        last.flush()


# --- 7./8./9. configuration: what a run uses is validated; YAML errors without PyYAML frames --------------

@pytest.fixture
def stray_files(tmp_path):
    """A workflow copy with two broken files next to the real experiments: a draft with a YAML syntax
    error and a backup copy of smoke (its name no longer matches the file)."""
    wd = copy_workflow(tmp_path / "wf")
    exp_dir = wd / "config" / "experiments"
    (exp_dir / "draft.yaml").write_text("name: draft\nseed: [1\n")
    (exp_dir / "smoke_backup.yaml").write_text((exp_dir / "smoke.yaml").read_text())
    return wd


@pytest.mark.e2e
def test_stray_experiment_files_block_nothing(stray_files):
    proc = snakemake(stray_files, "--config", "experiments=[smoke]", "-n", "fig08")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert dry_run_jobs(proc)["plot_learning_curves"] == 1


@pytest.mark.e2e
def test_stray_experiment_is_reported_when_asked_for(stray_files):
    proc = snakemake(stray_files, "--config", "experiments=[smoke]", "-n", "results/draft/figures/fig08_learning_curves.pdf")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    # named as the experiment is looked up: config/experiments/ relative to the working directory
    assert ("config/experiments/draft.yaml, line 3, column 1: invalid YAML: while parsing a flow sequence "
            "(line 2, column 7)") in out, out[-3000:]
    proc = snakemake(stray_files, "--config", "experiments=[smoke_backup]", "-n")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "name: 'smoke' must equal the file name 'smoke_backup'" in out, out[-3000:]


@pytest.mark.e2e
def test_paper_figure_target_validates_its_experiment(stray_files):
    exp_dir = stray_files / "config" / "experiments"
    text = (exp_dir / "gtsrb_convnet.yaml").read_text()
    (exp_dir / "gtsrb_convnet.yaml").write_text(text.replace("\nseed:", "\nseed: 3\nseed:", 1))
    proc = snakemake(stray_files, "--config", "experiments=[smoke]", "-n", "paper_fig22")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config/experiments/gtsrb_convnet.yaml, line" in out and "duplicate key 'seed'" in out, out[-3000:]


@pytest.mark.e2e
def test_yaml_error_in_a_run_experiment_is_one_message(stray_files):
    proc = snakemake(stray_files, "--config", "experiments=[draft]", "-n")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "draft.yaml, line 3, column 1: invalid YAML" in out
    assert "yaml/" not in out and "Traceback" not in out, out[-3000:]


@pytest.mark.e2e
def test_duplicate_key_in_config_yaml_is_rejected(stray_files):
    cfg = stray_files / "config" / "config.yaml"
    cfg.write_text(cfg.read_text() + "device: cpu\n")
    proc = snakemake(stray_files, "--config", "experiments=[smoke]", "-n")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "config.yaml, line" in out and "duplicate key 'device'" in out, out[-3000:]


# --- 6. after an interrupted run: --unlock, then --rerun-incomplete (the README's paragraph) ------------

@pytest.mark.e2e
def test_readme_procedure_after_a_killed_run(tmp_path, root):
    import os
    import signal
    import subprocess
    import time

    from advtrace.workdir import SNAKEMAKE

    text = (root / "README.md").read_text()
    para = text[text.index("**After an interrupted run**"):].split("\n\n")[0]
    assert "snakemake --unlock" in para and "--rerun-incomplete" in para

    wd = copy_workflow(tmp_path / "wf")
    target = "results/smoke/data/dataset.pt"
    args = SNAKEMAKE + ["--cores", "1", target, "--config", "experiments=[smoke]"]
    proc = subprocess.Popen(args, cwd=wd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    locks = wd / ".snakemake" / "locks"
    deadline = time.monotonic() + 300
    while not (locks.is_dir() and any(locks.iterdir())) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 Snakemake and its job mid-run
    proc.wait(timeout=60)
    assert locks.is_dir() and any(locks.iterdir()), "the killed run left no lock (it finished too early?)"
    again = snakemake(wd, "--cores", "1", target, "--config", "experiments=[smoke]")
    assert again.returncode != 0 and "cannot be locked" in again.stdout + again.stderr
    assert snakemake(wd, "--unlock", "--config", "experiments=[smoke]").returncode == 0
    done = snakemake(wd, "--cores", "1", "--rerun-incomplete", target, "--config", "experiments=[smoke]",
                     timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (wd / target).is_file()
