"""Stages as units: an experiment runs exactly the analysis stages whose sections it has."""

import copy

import pytest
import yaml

from advtrace import stages
from advtrace.config import ConfigError, check_experiment, validate_experiment
from conftest import analysis_jobs, copy_workflow, dry_run_jobs, snakemake, write_exp

CORE_ONLY = ("name", "seed", "dataset", "model", "pretrain", "adv_train", "samples", "evaluation")


def _core(cfg: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in cfg.items() if k in CORE_ONLY}


def test_every_stage_is_registered_once_with_its_rules_file(root):
    seen_tables, seen_figures = set(), set()
    for s in stages.STAGES.values():
        assert (root / s.rules).exists(), s.rules
        assert not (set(s.tables) & seen_tables) and not (set(s.figures) & seen_figures)
        seen_tables |= set(s.tables)
        seen_figures |= set(s.figures)
    catalogue = yaml.safe_load((root / "config" / "figures.yaml").read_text())
    paper000 = {f for s in stages.STAGES.values() if s.paper == "000" for f in s.figures}
    assert set(catalogue["kinds"].values()) == paper000  # every figure kind has exactly one stage
    # every other study's figures and reports are listed under its paper in `studies`
    for s in stages.STAGES.values():
        if s.paper != "000":  # every study is in the catalogue
            files = {e["file"] for e in catalogue["studies"][s.paper].values()}
            assert {f"figures/{f}.png" for f in s.figures} <= files, s.name
            assert files <= {f"figures/{f}.png" for f in s.figures} | set(s.reports), s.name


def test_learning_curves_only_config_validates(schema, digits_cfg):
    exp = _core(digits_cfg)
    validate_experiment(exp, schema, expected_name="digits")
    assert [s.name for s in stages.active(exp)] == ["evaluation"]
    assert stages.tables(exp) == ["learning_curve"] and stages.figures(exp) == ["fig08_learning_curves"]


@pytest.mark.parametrize("stage,missing", [("stability", "perturb"), ("universal", "analysis"),
                                           ("detect", "perturb")])
def test_a_stage_without_the_shared_section_it_reads_is_named(digits_cfg, stage, missing):
    exp = _core(digits_cfg)
    exp[stage] = copy.deepcopy(digits_cfg[stage])
    if missing == "analysis" or stage != "universal":
        exp.update({k: copy.deepcopy(digits_cfg[k]) for k in ("perturb", "analysis") if k != missing})
    problems = check_experiment(exp)
    assert any(p.startswith(f"{missing}: required by the {stage!r} stage") for p in problems), problems


def test_schema_still_rejects_a_missing_core_section(schema, digits_cfg):
    exp = _core(digits_cfg)
    del exp["pretrain"]
    with pytest.raises(ConfigError, match="pretrain"):
        validate_experiment(exp, schema, expected_name="digits")


@pytest.mark.e2e
def test_learning_curves_only_dry_run_has_only_training_evaluation_and_fig08(tmp_path):
    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load((wd / "config" / "experiments" / "smoke.yaml").read_text())
    cfg = _core(cfg)
    cfg["name"] = "core_only"
    write_exp(wd, "core_only", cfg)
    proc = snakemake(wd, "-n", "--cores", "1", "--config", "experiments=[core_only]")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    counts = dry_run_jobs(proc)
    T = cfg["adv_train"]["epochs"]
    assert counts == {"prepare_data": 1, "draw_samples": 1, "pretrain": 1, "adv_train_epoch": T,
                      "evaluate_epochs": analysis_jobs(T + 1), "learning_curve_table": 1, "plot_learning_curves": 1,
                      "claims": 1, "all": 1, "total": T + analysis_jobs(T + 1) + 7}, counts
    assert "fig08_learning_curves.png" in proc.stdout and "fig01_" not in proc.stdout


def test_figure_keys_are_the_targets_names():
    assert stages.figure_key("fig05_destruction_bi") == "fig05"
    assert stages.figure_key("p004_fig03_pareto_front") == "p004_fig03"
    assert stages.figure_key("p004_risk_ordering") == "p004_risk_ordering"
    assert stages.figure_key("p004_fig03_deepfool_front") == "p004_fig03"  # Fig. 3's right panel
    slugs = [f for s in stages.all_stages() for f in s.figures]
    assert len(slugs) == len(set(slugs))
    # one target per figure: slugs sharing a key are panels of one paper figure, of one study
    for key in {stages.figure_key(f) for f in slugs}:
        assert len({stages.stage_of_figure(f).paper for f in slugs if stages.figure_key(f) == key}) == 1, key
    # study slugs are pNNN_figNN_<slug> (two digits) or pNNN_<slug> / x000_<slug>
    import re

    for s in stages.all_stages():
        for f in s.figures:
            pattern = r"fig\d{2}_\w+" if s.paper == "000" else rf"(p{s.paper}|{s.paper})_(fig\d{{2}}_)?[a-z]\w*"
            assert re.fullmatch(pattern, f), f

