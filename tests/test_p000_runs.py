"""Paper 000's analyses of any training run: runs per section, epochs mapped onto a run's own T,
the run column, and a config change alone planning the analyses of another run."""

import copy
import re

import pandas as pd
import pytest

from advtrace import perturb_plan, runs
from advtrace.config import ConfigError, validate_experiment
from advtrace.studies.p000 import plan
from advtrace.tables import SchemaError, coerce, concat_runs, read_table, with_run, write_table
from conftest import copy_workflow, snakemake, write_exp

P004 = "p004_eps32_heap_size32"  # a 4-epoch shared-adversarial-training run of digits, trained in one chained job


def main_only(cfg: dict) -> dict:
    """digits with paper 000's sections analysing main alone (no cross-method study)."""
    exp = copy.deepcopy(cfg)
    exp.pop("cross_method")
    for section in plan.SECTIONS:
        exp[section].pop("runs", None)
    return exp


def test_fraction_mapping_rounds_to_the_same_fraction_of_training():
    assert plan.map_epochs([0, 1, 2, 3, 5, 10], 4, 10) == [0, 1, 2, 4]
    assert plan.map_epochs([0, 1, 2, 3, 5, 10], 1, 10) == [0, 1]
    assert plan.map_epochs([0, 1, 2, 3, 5, 10], 10, 10) == [0, 1, 2, 3, 5, 10]  # main: unchanged
    assert plan.map_epochs([0, 5, 10], 20, 10) == [0, 10, 20]  # a longer run
    assert plan.map_epochs([1, 2, 3], 4, 10, first=1) == [1]  # future epochs stay >= 1
    assert plan.map_epochs("all", 4, 10) == "all" and plan.map_epochs("analysis", 4, 10) == "analysis"
    assert plan.map_epochs([0, 5, 10], 4, 10, mode="same") == [0, 5, 10]
    # halves round up, exactly (integers): 1 * 5 / 10 = 0.5 -> 1
    assert plan.map_epoch(1, 5, 10) == 1 and plan.map_epoch(3, 5, 10) == 2


def test_run_view_maps_the_sections_epochs_onto_the_run(digits_cfg):
    exp = copy.deepcopy(digits_cfg)
    exp["detect"]["run_epochs"] = "fraction"
    main = plan.run_view(exp, "stability", "main")
    assert main["stability"] == exp["stability"] and main["adv_train"] == exp["adv_train"]
    view = plan.run_view(exp, "detect", P004)
    assert view["adv_train"]["epochs"] == 4 and view["adv_train"]["method"] == "shared"
    assert view["analysis"]["epochs"] == [0, 1, 2, 4]
    assert view["detect"]["epochs"] == [0, 4] and view["detect"]["fixed_epochs"] == [0, 4]
    sv = plan.run_view(exp, "stability", P004)["stability"]
    assert sv["sharedness"]["epochs"] == [0, 2, 4] and sv["transfer"]["sources"] == [0, 1, 2, 4]
    assert sv["profiles"]["epochs"] == [0, 1, 2, 3, 4]  # main's 0..10 as fractions of T = 4: every epoch
    long = plan.run_view(exp, "stability", "p002_step_ll")["stability"]  # T = 28: the same 11 fractions
    assert long["profiles"]["epochs"] == [0, 3, 6, 8, 11, 14, 17, 20, 22, 25, 28]
    assert long["cost_change"]["future_epochs"] == [3, 6, 8, 11, 14, 17, 20, 22, 25, 28]
    assert exp["detect"]["epochs"] == [0, 1, 10]  # the experiment is unchanged


def test_last_analyses_every_other_run_at_its_last_epoch_only(digits_cfg):
    exp = copy.deepcopy(digits_cfg)
    exp["detect"]["run_epochs"] = exp["universal"]["run_epochs"] = "last"
    assert plan.map_epochs([0, 1, 10], 28, 10, mode="last") == [28]
    main = plan.run_view(exp, "detect", "main")
    assert main["detect"] == exp["detect"] and main["analysis"] == exp["analysis"]  # main keeps its lists
    view = plan.run_view(exp, "detect", "p002_step_ll")
    assert view["detect"]["epochs"] == [28] and view["detect"]["fixed_epochs"] == [28]
    assert view["analysis"]["epochs"] == [28]
    uni = plan.run_view(exp, "universal", P004)["universal"]
    assert uni["source_epochs"] == [4] and uni["image_epochs"] == [4]
    # the perturbations the detectors of the other runs read: their last epoch only; main's unchanged
    detect_epochs = {t for run, attack, s, t in plan.perturbation_needs(exp)
                     if run == "p002_step_ll" and s == exp["detect"]["train_set"]}
    assert detect_epochs == {28}
    exp["detect"]["run_epochs"] = "fraction"
    assert {t for run, attack, s, t in plan.perturbation_needs(exp)
            if run == "p002_step_ll" and s == exp["detect"]["train_set"]} == {0, 3, 28}


def test_perturbations_of_a_runs_epoch_zero_are_its_pretraining_owners(digits_cfg):
    exp = main_only(digits_cfg)
    before = perturb_plan.perturbation_needs(exp)
    assert {run for run, _ in before} == {"main"}
    exp["stability"]["runs"] = ["main", P004]
    needs = perturb_plan.perturbation_needs(exp)
    assert (P004, 0) not in needs and [(P004, t) in needs for t in (1, 2, 3, 4)] == [True] * 4
    assert needs[("main", 0)] == before[("main", 0)]  # the shared epoch-0 model: the same sets
    assert {k: v for k, v in needs.items() if k[0] == "main"} == before


def test_checks_name_the_run(schema, digits_cfg):
    exp = main_only(digits_cfg)
    exp["detect"]["runs"] = ["main", "nope"]
    with pytest.raises(ConfigError, match=r"detect.runs: \['nope'\] not runs of the experiment"):
        validate_experiment(exp, schema, expected_name="digits")
    exp["detect"]["runs"] = ["main", P004]
    exp["detect"]["run_epochs"] = "same"  # detect.epochs [0, 1, 10] on a 4-epoch run
    with pytest.raises(ConfigError, match=rf"analysis.epochs: \[5, 10\] beyond.*run '{P004}': T = 4, run_epochs: same"):
        validate_experiment(exp, schema, expected_name="digits")
    exp["detect"]["run_epochs"] = "fraction"
    validate_experiment(exp, schema, expected_name="digits")
    exp["stability"]["runs"] = ["main", "main"]
    with pytest.raises(ConfigError, match="lists a run twice"):
        validate_experiment(exp, schema, expected_name="digits")


def test_maximise_runs_default_to_the_detect_runs_and_must_hold_the_first(schema, digits_cfg):
    """detect.maximise.runs (Fig. 7's maximisation): default every run of detect.runs; a subset in
    detect.runs' order; a run outside detect.runs, or a list without the run Fig. 7 reads, is refused."""
    exp = copy.deepcopy(digits_cfg)
    assert exp["detect"]["maximise"]["runs"] == ["main"]  # digits: main only, which Fig. 7 reads
    exp["detect"]["maximise"].pop("runs")
    assert plan.maximise_runs(exp) == exp["detect"]["runs"]
    exp["detect"]["maximise"]["runs"] = [P004, "main"]
    validate_experiment(exp, schema, expected_name="digits")
    assert plan.maximise_runs(exp) == ["main", P004]  # detect.runs' order
    exp["detect"]["maximise"]["runs"] = ["main", "p002_clean_width4"]
    with pytest.raises(ConfigError, match=r"detect.maximise.runs: \['p002_clean_width4'\] not in detect.runs"):
        validate_experiment(exp, schema, expected_name="digits")
    exp["detect"]["maximise"]["runs"] = [P004]
    with pytest.raises(ConfigError, match=r"detect.maximise.runs: .* leaves out 'main', the first run"):
        validate_experiment(exp, schema, expected_name="digits")


def test_stability_parts_runs_leave_figure_only_work_out_of_the_other_runs(schema, digits_cfg):
    """stability.transfer.runs / cost_change.runs (Figs. 9 and 2, drawn for the first run only): a run
    outside them plans neither the train-set transfer nor the epoch-0 cost change, keeps its profile and
    sharedness work, and gets empty transfer_error / sharedness_vs_stability / stability_correlation parts;
    a run in them (main) plans exactly what it did without the key. A list without the first run, or with a
    run outside stability.runs, is refused."""
    from advtrace import stability_plan

    full = copy.deepcopy(digits_cfg)
    for part in plan.STABILITY_PARTS:
        full["stability"][part].pop("runs", None)
    cut = copy.deepcopy(full)
    for part in plan.STABILITY_PARTS:
        cut["stability"][part]["runs"] = ["main"]
    validate_experiment(cut, schema, expected_name="digits")

    def epoch_plans(exp, run):
        view = plan.run_view(exp, "stability", run)
        st, T = view["stability"], view["adv_train"]["epochs"]
        return {t: stability_plan.epoch_plan(st, T, t) for t in stability_plan.plan_epochs(st, T)}

    assert epoch_plans(cut, "main") == epoch_plans(full, "main")
    other, before = epoch_plans(cut, "p002_step_ll"), epoch_plans(full, "p002_step_ll")
    st = full["stability"]
    assert set(other) == set(before)  # epoch 0 keeps its profile and sharedness work
    for t, p in other.items():
        assert set(p["transfer"]) == {st["profiles"]["set"]}, p  # the profile set only
        assert p["transfer"][st["profiles"]["set"]] == before[t]["transfer"][st["profiles"]["set"]]
        assert [q["task"] for q in p["pairwise"]] == [q["task"] for q in before[t]["pairwise"] if q["task"] == "sharedness"]
    assert any(st["transfer"]["train_set"] in p["transfer"] for p in before.values())
    assert any(q["task"] == "current_train" for p in before.values() for q in p["pairwise"])
    view = plan.run_view(cut, "stability", "p002_step_ll")["stability"]  # (aggregation: tests/test_stability.py)
    assert view["transfer"]["skip"] and view["cost_change"]["skip"]
    assert "skip" not in plan.run_view(cut, "stability", "main")["stability"]["transfer"]
    bad = copy.deepcopy(cut)
    bad["stability"]["transfer"]["runs"] = ["p002_step_ll"]
    with pytest.raises(ConfigError, match=r"stability.transfer.runs: .* leaves out 'main', the first run"):
        validate_experiment(bad, schema, expected_name="digits")
    bad["stability"]["transfer"]["runs"] = ["main", "p002_clean_width4"]
    with pytest.raises(ConfigError, match=r"stability.transfer.runs: \['p002_clean_width4'\] not in stability.runs"):
        validate_experiment(bad, schema, expected_name="digits")


@pytest.mark.e2e
def test_maximisation_jobs_are_planned_for_the_maximise_runs_only(tmp_path, digits_cfg):
    """digits' detect.maximise.runs [main]: Fig. 7's jobs for main's detect epochs only; the default
    plans them for every detect run too (epoch 0 of the paper-004 run is main's, so 7 jobs, not 9)."""
    wd = copy_workflow(tmp_path)

    def planned(cfg):
        write_exp(wd, "digits", cfg)
        proc = snakemake(wd, "-n", "--cores", "1", "results/digits/tables/detector_max.parquet",
                         "--config", "experiments=[digits]")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        blocks = re.split(r"\n(?=\s*(?:local)?rule \w+:)", proc.stdout)
        return sorted((re.search(r"run=(\w+)", b).group(1), int(re.search(r"epoch=(\d+)", b).group(1)))
                      for b in blocks if re.match(r"\s*rule maximise_detector:", b))

    assert planned(digits_cfg) == [("main", 0), ("main", 1), ("main", 10)]
    every = copy.deepcopy(digits_cfg)
    every["detect"]["maximise"].pop("runs")
    every["detect"]["run_epochs"] = "fraction"  # digits: last (the other runs' last epoch only)
    got = planned(every)
    assert len(got) == 7 and {r for r, _ in got} == {"main", "p002_step_ll", P004}
    assert ("p002_step_ll", 28) in got and (P004, 4) in got


def test_main_may_chain_epochs(schema, digits_cfg):
    exp = copy.deepcopy(digits_cfg)
    exp["adv_train"]["epochs_per_training_job"] = 5
    validate_experiment(exp, schema, expected_name="digits")
    assert runs.job_output(exp, "main", 3) == "results/digits/runs/main/checkpoints/job_005.json"
    assert runs.checkpoint_path(exp, "main", 3) == "results/digits/runs/main/checkpoints/epoch_003.pt"


def test_tables_of_a_run_carry_the_run_column(tmp_path):
    part = coerce(pd.DataFrame({"epoch": [0, 1], "input_id": [3, 4], "label": [1, 2], "own_clean_correct": [True] * 2,
                                "own_fooled": [True, False], "n_other": [10, 10], "n_other_correct": [9, 9],
                                "n_effective": [1, 0], "n_changed": [1, 0], "pct_effective": [10.0, 0.0],
                                "pct_ci_low": [1.0, 0.0], "pct_ci_high": [40.0, 30.0],
                                "pct_effective_of_correct": [11.1, 0.0], "mean_cost_change": [0.1, 0.0]}),
                   "sharedness")
    assert "run" not in part.columns  # one run's part
    paths = {}
    for run in ("main", "r2"):
        paths[run] = [tmp_path / f"{run}.parquet"]
        write_table(part, paths[run][0], "sharedness")
    table = concat_runs(paths, "sharedness")
    assert list(table.columns)[0] == "run" and table["run"].tolist() == ["main", "main", "r2", "r2"]
    write_table(table, tmp_path / "t.parquet", "sharedness")
    r2 = read_table(tmp_path / "t.parquet", "sharedness", run="r2")
    pd.testing.assert_frame_equal(r2.drop(columns="run"), part, check_exact=True)
    assert with_run(r2, "sharedness", "x")["run"].tolist() == ["x", "x"]
    with pytest.raises(SchemaError, match="no rows of run 'nope'"):
        read_table(tmp_path / "t.parquet", "sharedness", run="nope")


@pytest.mark.e2e
def test_a_config_change_alone_plans_stability_on_another_runs_checkpoints(tmp_path, digits_cfg):
    """stability: {runs: [main, p004_eps32_heap_size32]}: stability jobs of that run read its own
    checkpoints (through its chained training job's manifest), perturbations of its epochs 1..4 in
    its own directory, and main's epoch-0 perturbations (the same pretrained model)."""
    wd = copy_workflow(tmp_path)
    cfg = main_only(digits_cfg)
    cfg["stability"]["runs"] = ["main", P004]
    write_exp(wd, "digits", cfg)
    target = "results/digits/tables/stability_summary.parquet"
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=[digits]", "-p", target)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    blocks = re.split(r"\n(?=\s*(?:local)?rule \w+:)", proc.stdout)
    stab = [b for b in blocks if re.match(r"\s*rule stability_epochs:", b) and f"run={P004}" in b]
    assert stab, proc.stdout[-3000:]
    inputs = " ".join(b for b in stab)
    run_dir = f"results/digits/runs/{P004}"
    assert f"{run_dir}/checkpoints/job_004.json" in inputs  # its own model, from its chained job
    assert f"{run_dir}/perturbations/stability_manifest.json" in inputs
    assert "results/digits/runs/main/checkpoints/epoch_000.pt" in inputs  # epoch 0 = the shared pretrained model
    perturb = [b for b in blocks if re.match(r"\s*rule perturb_epochs:", b) and f"run={P004}" in b]
    chunks = sorted(re.search(r"chunk=(\d{3}-\d{3})", b).group(1) for b in perturb)
    assert chunks == ["001-004"]  # no epoch-0 job of its own: epochs 1-4 in one chunk of 4
    main_stab = [b for b in blocks if re.match(r"\s*rule stability_epochs:", b) and "run=main" in b]
    assert len(main_stab) == 3  # main's 11 epochs in chunks of 4, as before
