"""python -m advtrace.migrate: a results directory of the layout before runs/<run>/ moves to it."""

import os

import pytest

from advtrace import migrate, runs


def _old_layout(exp_dir):
    files = ["checkpoints/epoch_000.pt", "checkpoints/pretrain/epoch_001.pt", "perturbations/epoch_001/BI/a.pt",
             "detectors/epoch_000/BI.pt", "universal/train/epoch_000.pt", "metrics/stability/epochs_000-003/transfer.parquet",
             "metrics/learning_curve/epochs_000-003.parquet", "metrics/p004/main/000-000/robustness.parquet",
             "data/dataset.pt", "tables/transfer.parquet"]
    for f in files:
        (exp_dir / f).parent.mkdir(parents=True, exist_ok=True)
        (exp_dir / f).write_text(f)
    os.utime(exp_dir / "checkpoints/epoch_000.pt", (1_000_000, 1_000_000))
    return files


def test_main_files_move_under_runs_main_with_their_times(tmp_path):
    exp_dir = tmp_path / "results" / "digits"
    _old_layout(exp_dir)
    assert migrate.main([str(tmp_path / "results")]) == 0
    main = exp_dir / "runs" / runs.MAIN
    assert main.as_posix().endswith(runs.run_dir("digits", runs.MAIN))
    for f in ("checkpoints/epoch_000.pt", "checkpoints/pretrain/epoch_001.pt", "perturbations/epoch_001/BI/a.pt",
              "detectors/epoch_000/BI.pt", "universal/train/epoch_000.pt",
              "metrics/stability/epochs_000-003/transfer.parquet", "metrics/learning_curve/epochs_000-003.parquet"):
        assert (main / f).read_text() == f and not (exp_dir / f).exists()
    assert (main / "checkpoints/epoch_000.pt").stat().st_mtime == 1_000_000  # a move: Snakemake sees the old time
    # the experiment's own files and the studies' parts stay
    for f in ("data/dataset.pt", "tables/transfer.parquet", "metrics/p004/main/000-000/robustness.parquet"):
        assert (exp_dir / f).exists()
    assert migrate.moves(exp_dir) == []  # migrated: a second run moves nothing
    assert migrate.migrate(exp_dir) == []


def test_dry_run_moves_nothing_and_a_clash_is_refused(tmp_path, capsys):
    exp_dir = tmp_path / "results" / "digits"
    _old_layout(exp_dir)
    migrate.main([str(exp_dir), "--dry-run"])
    assert "would move" in capsys.readouterr().out and (exp_dir / "checkpoints/epoch_000.pt").exists()
    (exp_dir / "runs" / "main" / "checkpoints").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="exist already"):
        migrate.migrate(exp_dir)
    assert (exp_dir / "checkpoints/epoch_000.pt").exists()  # nothing moved
