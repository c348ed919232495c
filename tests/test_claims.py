import pandas as pd

from advtrace.claims import CLAIMS, all_claims, claims_markdown, evaluate_claims
from advtrace.stats import with_wilson
from advtrace.tables import check_schema, coerce


def lc_table(bi0, bi_last, clean0=0.95, clean_last=0.9, train_bi_last=0.97, fgsm_last=0.7):
    rows = []
    for epoch, vals in ((0, {"clean": (clean0, clean0), "FGSM": (0.1, 0.1), "BI": (bi0, bi0)}),
                        (5, {"clean": (clean_last, clean_last), "FGSM": (fgsm_last, fgsm_last), "BI": (train_bi_last, bi_last)})):
        for attack, (tr, te) in vals.items():
            rows += [{"epoch": epoch, "split": "train", "attack": attack, "accuracy": tr, "n": 100},
                     {"epoch": epoch, "split": "test", "attack": attack, "accuracy": te, "n": 100}]
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
