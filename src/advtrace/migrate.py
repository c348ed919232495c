"""Move a results directory written before every run had its own directory to the current layout.

Until the analyses of paper 000 took a run dimension, the main run's files lay directly under
``results/{exp}/`` (``checkpoints/``, ``perturbations/``, ``detectors/``, ``universal/`` and
paper 000's ``metrics/`` parts). Every run, main included, now keeps them under
``results/{exp}/runs/{run}/`` (:func:`advtrace.runs.run_dir`)::

    python -m advtrace.migrate            # every experiment under results/
    python -m advtrace.migrate results/digits --dry-run

moves main's files there (``mv`` within one file system, so modification times stay and nothing
is copied), and every run's training logs and benchmarks (``logs/pretrain.log``,
``benchmarks/adv_train_epoch/`` of main; ``logs/runs/<run>/``, ``benchmarks/runs/<run>/`` of the
others) to ``runs/<run>/logs/`` and ``runs/<run>/benchmarks/``, where the rules now write them:
paper 004's cost table reads the training benchmarks, and a missing one would re-run the
training job that writes it. Everything else stays in place. The trained checkpoints are the expensive part:
Snakemake finds them where the rules now expect them and trains nothing again. The analyses
re-run where their code or parameters changed since (each rule's ``code`` fingerprint), as after
any code update. A directory that is already migrated is left as it is; nothing is overwritten.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .runs import MAIN

# main's per-run files of the older layout, relative to results/{exp}/
RUN_DIRS = ("checkpoints", "perturbations", "detectors", "universal")
RUN_METRICS = ("learning_curve", "universal_accuracy", "universal_images", "stability", "destruction",
               "detectability", "detector_max", "detector_max_summary")
# main's training logs and benchmarks (rules/train.smk), relative to results/{exp}/logs and benchmarks
MAIN_TRAINING = {"logs": ("pretrain.log", "adv_train_epoch", "adv_train_chained"),
                 "benchmarks": ("pretrain.tsv", "adv_train_epoch", "adv_train_chained")}


def moves(exp_dir: Path) -> list[tuple[Path, Path]]:
    """(source, destination) of every move that migrates `exp_dir` (results/{exp}); [] when done."""
    dest = exp_dir / "runs" / MAIN
    out = [(exp_dir / d, dest / d) for d in RUN_DIRS]
    out += [(exp_dir / "metrics" / m, dest / "metrics" / m) for m in RUN_METRICS]
    out += [(exp_dir / kind / f, dest / kind / f) for kind, files in MAIN_TRAINING.items() for f in files]
    for kind in MAIN_TRAINING:  # the other runs' logs/runs/<run>/ and benchmarks/runs/<run>/
        old = exp_dir / kind / "runs"
        if old.is_dir():
            out += [(d, exp_dir / "runs" / d.name / kind) for d in sorted(old.iterdir()) if d.is_dir()]
    return [(src, dst) for src, dst in out if src.exists()]


def migrate(exp_dir: str | Path, dry_run: bool = False) -> list[tuple[Path, Path]]:
    """Move main's files of `exp_dir` into runs/main/; returns the moves (made unless `dry_run`).
    A destination that exists already is an error naming it (nothing is moved then)."""
    exp_dir = Path(exp_dir)
    planned = moves(exp_dir)
    clash = [dst for _, dst in planned if dst.exists()]
    if clash:
        raise FileExistsError(f"{exp_dir}: {', '.join(map(str, clash))} exist already; move or remove them first "
                              "(the older files are the same run's: keep one copy)")
    if not dry_run:
        for src, dst in planned:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(src), str(dst))
    return planned


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m advtrace.migrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", default=["results"],
                    help="results/ (every experiment in it, the default) or results/<exp> directories")
    ap.add_argument("--dry-run", action="store_true", help="list the moves only")
    args = ap.parse_args(argv)
    exp_dirs: list[Path] = []
    for p in map(Path, args.paths):
        is_exp = (p / "data").is_dir() or any((p / d).exists() for d in RUN_DIRS)
        exp_dirs += [p] if is_exp else sorted(d for d in p.iterdir() if d.is_dir()) if p.is_dir() else []
    n = 0
    for exp_dir in exp_dirs:
        for src, dst in migrate(exp_dir, dry_run=args.dry_run):
            print(f"{'would move' if args.dry_run else 'moved'} {src} -> {dst}")
            n += 1
    print(f"{n} moves{' planned' if args.dry_run else ''} in {len(exp_dirs)} experiment directories")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
