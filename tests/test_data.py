import torch

from advtrace.data import draw_samples, split_indices


def test_splits_disjoint_and_seeded():
    splits = {"train": {"source": "all", "n": 100}, "val": {"source": "all", "n": 20}, "test": {"source": "all", "n": 30}}
    a = split_indices({"all": 160}, splits, seed=3)
    b = split_indices({"all": 160}, splits, seed=3)
    c = split_indices({"all": 160}, splits, seed=4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["train"], c["train"])
    allidx = torch.cat([a["train"], a["val"], a["test"]])
    assert len(allidx.unique()) == 150 and int(allidx.max()) < 160


def test_splits_from_different_sources_are_independent():
    splits = {"train": {"source": "train", "n": 45}, "val": {"source": "train", "n": 5}, "test": {"source": "test", "n": 10}}
    s = split_indices({"train": 50, "test": 10}, splits, seed=0)
    assert sorted(torch.cat([s["train"], s["val"]]).tolist()) == list(range(50))
    assert sorted(s["test"].tolist()) == list(range(10))


def test_sample_sets_exclusion_and_stability():
    cfg = {
        "a": {"split": "test", "n": 30, "exclude": []},
        "b": {"split": "test", "n": 60, "exclude": ["a"]},
        "c": {"split": "train", "n": 10, "exclude": []},
    }
    sizes = {"train": 50, "val": 5, "test": 100}
    df = draw_samples(cfg, sizes, seed=1)
    a = set(df[df.set == "a"]["index"])
    b = set(df[df.set == "b"]["index"])
    assert len(a) == 30 and len(b) == 60 and not (a & b)
    assert df[df.set == "c"]["index"].max() < 50
    # adding another set never changes the existing ones
    cfg2 = {**cfg, "z": {"split": "test", "n": 5, "exclude": []}}
    df2 = draw_samples(cfg2, sizes, seed=1)
    for name in cfg:
        assert df[df.set == name]["index"].tolist() == df2[df2.set == name]["index"].tolist()
    assert df["rank"].tolist()[:30] == list(range(30))


def test_sample_set_from_parquet_raises_no_numpy_warning(tmp_path):
    """pandas hands out read-only arrays (copy-on-write); torch warned "The given NumPy array is
    not writable" in most job logs. torch warns once per process, hence a fresh interpreter."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[1] / "src")  # this checkout's advtrace, not an installed one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    code = f"""
import warnings
warnings.simplefilter("error")
import torch
from advtrace.data import draw_samples, sample_set
from advtrace.tables import read_table, write_table
df = draw_samples({{"a": {{"split": "test", "n": 5, "exclude": []}}}}, {{"train": 1, "val": 1, "test": 9}}, seed=0)
write_table(df, {str(tmp_path / "samples.parquet")!r}, "samples")
data = {{"test_x": torch.zeros(9, 1, 2, 2, dtype=torch.uint8), "test_y": torch.arange(9)}}
s = sample_set(data, read_table({str(tmp_path / "samples.parquet")!r}, "samples"), "a")
s.index += 0  # writable
print(len(s.index))
"""
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "5", proc.stderr[-2000:]
