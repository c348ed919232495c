import pandas as pd

from advtrace.claims import all_claims, claims_markdown, evaluate_claims
from advtrace.studies.p000.claims import CLAIMS
from advtrace.stats import with_wilson
from advtrace.tables import check_schema, coerce


def lc_table(bi0, bi_last, clean0=0.95, clean_last=0.9, train_bi_last=0.97, fgsm_last=0.7, pretrain=None):
    """Learning-curve rows at t = 0 and 5; `pretrain` (accuracy of every line): also vanilla-epoch rows
    (phase pretrain, epochs -3..-1 of 3 vanilla epochs; paper epoch = t + 3)."""
    rows = []
    lines = [(0, "adversarial", {"clean": (clean0, clean0), "FGSM": (0.1, 0.1), "BI": (bi0, bi0)}),
             (5, "adversarial", {"clean": (clean_last, clean_last), "FGSM": (fgsm_last, fgsm_last),
                                 "BI": (train_bi_last, bi_last)})]
    if pretrain is not None:
        lines = [(t, "pretrain", {a: (pretrain, pretrain) for a in ("clean", "FGSM", "BI")}) for t in (-3, -2, -1)] + lines
    for epoch, phase, vals in lines:
        for attack, (tr, te) in vals.items():
            common = {"epoch": epoch, "phase": phase, "paper_epoch": epoch + (3 if pretrain is not None else 0),
                      "attack": attack, "n": 100}
            rows += [{**common, "split": "train", "accuracy": tr}, {**common, "split": "test", "accuracy": te}]
    return coerce(with_wilson(pd.DataFrame(rows), "accuracy"), "learning_curve")


def test_learning_curve_claims_verdicts():
    df = evaluate_claims({"learning_curve": lc_table(0.05, 0.6)}, "x")
    check_schema(df, "claims")
    st = df.set_index("claim")["status"]
    assert st["pretrained_bi_accuracy"] == "holds"
    assert st["adv_training_raises_bi_accuracy"] == "holds"
    bad = evaluate_claims({"learning_curve": lc_table(0.30, 0.40)}, "x").set_index("claim")["status"]
    assert bad["pretrained_bi_accuracy"] == "does not hold"
    assert bad["adv_training_raises_bi_accuracy"] == "does not hold"


def test_learning_curve_claims_read_the_adversarial_phase_only():
    """Vanilla-epoch rows (Figs. 17/22) come first by epoch; the claims about adversarial training must
    still compare t = 0 (the pretrained model) with the last adversarial epoch."""
    plain = evaluate_claims({"learning_curve": lc_table(0.05, 0.6)}, "x").set_index("claim")
    for acc in (0.0, 0.9):  # pretraining rows that would flip the verdicts if read
        df = evaluate_claims({"learning_curve": lc_table(0.05, 0.6, pretrain=acc)}, "x").set_index("claim")
        lc_claims = [c.id for c in CLAIMS if c.tables == ("learning_curve",)]
        pd.testing.assert_frame_equal(df.loc[lc_claims], plain.loc[lc_claims])
        assert df.loc["pretrained_bi_accuracy", "status"] == "holds"


def test_missing_tables_are_not_measured_not_dropped():
    df = evaluate_claims({}, "x")
    assert len(df) == len(all_claims())  # paper 000's and every study's
    assert (df["status"] == "not measured").all()
    assert "not measured" in claims_markdown(df)


def test_claims_of_stages_the_experiment_does_not_run_are_left_out():
    from advtrace import stages

    lc_only = {"learning_curve": lc_table(0.05, 0.6)}
    df = evaluate_claims(lc_only, "x", stage_tables=stages.STAGES["evaluation"].tables)
    assert len(df) == sum(1 for c in CLAIMS if c.tables == ("learning_curve",)) > 0
    assert (df["status"] != "not measured").all()
    everything = [t for s in stages.STAGES.values() for t in s.tables]
    assert len(evaluate_claims(lc_only, "x", stage_tables=everything)) == len(all_claims())
