import pandas as pd
import pytest

from advtrace.stats import with_wilson
from advtrace.tables import SchemaError, coerce, read_table, schema_markdown, write_table


def _lc():
    return coerce(with_wilson(pd.DataFrame({"epoch": [0, 1], "phase": ["adversarial"] * 2, "paper_epoch": [0, 1],
                                            "split": ["train", "test"], "attack": ["clean", "BI"],
                                            "accuracy": [0.9, 0.1], "n": [10, 10]}), "accuracy"), "learning_curve")


def test_roundtrip(tmp_path):
    df = _lc()
    write_table(df, tmp_path / "t.parquet", "learning_curve")
    back = read_table(tmp_path / "t.parquet", "learning_curve")
    pd.testing.assert_frame_equal(back, df)


def test_wrong_columns_or_dtypes_rejected(tmp_path):
    df = _lc()
    with pytest.raises(SchemaError, match="columns"):
        write_table(df.drop(columns="n"), tmp_path / "x.parquet", "learning_curve")
    bad = df.copy()
    bad["epoch"] = bad["epoch"].astype("float64")
    with pytest.raises(SchemaError, match="epoch"):
        write_table(bad, tmp_path / "x.parquet", "learning_curve")
    assert not (tmp_path / "x.parquet").exists()


def test_tables_doc_in_sync(root):
    assert (root / "TABLES.md").read_text() == schema_markdown(), "regenerate: python -m advtrace.tables > TABLES.md"
