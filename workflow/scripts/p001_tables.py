import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.tables import concat_tables, write_table

inp, out = snakemake.input, snakemake.output
adv = concat_tables(inp.adversaries, "p001_adversaries")
# every family job measures the same no-adversary row (same classifier and test set): keep one
no = adv[adv["family"] == "No"]
adv = adv[adv["family"] != "No"]
if len(no):
    import pandas as pd

    adv = pd.concat([no.iloc[:1], adv], ignore_index=True)
write_table(adv.reset_index(drop=True), out.adversaries, "p001_adversaries")
write_table(concat_tables(inp.depth, "p001_depth"), out.depth, "p001_depth")
write_table(concat_tables(inp.eps_transfer, "p001_eps_transfer"), out.eps_transfer, "p001_eps_transfer")
write_table(concat_tables(inp.training, "p001_detector_training"), out.training, "p001_detector_training")
