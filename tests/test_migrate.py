"""python -m advtrace.migrate: a results directory of the layout before runs/<run>/ moves to it."""

import os

import pytest

from advtrace import migrate, runs


def _old_layout(exp_dir):
    files = ["checkpoints/epoch_000.pt", "checkpoints/pretrain/epoch_001.pt", "perturbations/epoch_001/BI/a.pt",
             "detectors/epoch_000/BI.pt", "universal/train/epoch_000.pt", "metrics/stability/epochs_000-003/transfer.parquet",
             "metrics/learning_curve/epochs_000-003.parquet", "metrics/p004/main/000-000/robustness.parquet",
             "data/dataset.pt", "tables/transfer.parquet",
             # training logs and benchmarks (paper 004's cost table reads the benchmarks)
             "benchmarks/pretrain.tsv", "benchmarks/adv_train_epoch/001.tsv", "logs/adv_train_epoch/001.log",
             "benchmarks/runs/p004_a/adv_train_chained/004.tsv", "logs/runs/p004_a/pretrain.log",
             "runs/p004_a/checkpoints/job_004.json", "benchmarks/perturb_epoch/001.tsv"]
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
    # training logs and benchmarks go where rules/train.smk writes them now (every run's under runs/<run>/)
    for old, new in (("benchmarks/pretrain.tsv", "runs/main/benchmarks/pretrain.tsv"),
                     ("benchmarks/adv_train_epoch/001.tsv", "runs/main/benchmarks/adv_train_epoch/001.tsv"),
                     ("logs/adv_train_epoch/001.log", "runs/main/logs/adv_train_epoch/001.log"),
                     ("benchmarks/runs/p004_a/adv_train_chained/004.tsv", "runs/p004_a/benchmarks/adv_train_chained/004.tsv"),
                     ("logs/runs/p004_a/pretrain.log", "runs/p004_a/logs/pretrain.log")):
        assert (exp_dir / new).read_text() == old and not (exp_dir / old).exists()
    # the experiment's own files, the studies' parts and the analyses' benchmarks stay
    for f in ("data/dataset.pt", "tables/transfer.parquet", "metrics/p004/main/000-000/robustness.parquet",
              "runs/p004_a/checkpoints/job_004.json", "benchmarks/perturb_epoch/001.tsv"):
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
