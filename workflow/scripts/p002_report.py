import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace import jobusage

jobusage.record(snakemake.output.get("benchmark"))  # this job's benchmark table, written at exit

from pathlib import Path

from advtrace.mdhtml import page
from advtrace.plotting import save_figure
from advtrace.runtime import atomic_path
from advtrace.studies.p002 import report as R
from advtrace.tables import read_table

acc = read_table(snakemake.input.accuracy, "p002_accuracy")
leak = read_table(snakemake.input.leaking, "p002_label_leaking")
tr = read_table(snakemake.input.transfer, "p002_transfer")
cap = read_table(snakemake.input.capacity, "p002_capacity")

docs = {1: R.table1(acc), 2: R.table2(acc), 3: R.table3(acc, leak), 4: R.table4(tr), 5: R.table5(acc), 6: R.table6(tr),
        7: R.table7(acc), 8: R.table8(acc)}
outputs = {Path(p).name: p for p in [*snakemake.output.markdown, *snakemake.output.html]}
for num, text in docs.items():
    with atomic_path(outputs[f"p002_table{num}.md"]) as tmp:
        Path(tmp).write_text(text)
    with atomic_path(outputs[f"p002_table{num}.html"]) as tmp:
        Path(tmp).write_text(page(text))
with atomic_path(snakemake.output.tables_html) as tmp:
    Path(tmp).write_text(page(list(docs.values()), "Paper 002 tables"))

figs = {
    "p002_fig01_capacity_top1": R.fig_capacity(cap, 1, "Paper 002, Fig. 1 — model capacity vs robustness (top-1)"),
    "p002_fig04_capacity_top5": R.fig_capacity(cap, 5, "Paper 002, Fig. 4 — model capacity vs robustness (top-5)"),
    "p002_fig02_transfer_eps": R.fig_transfer_eps(tr, *R.transfer_pair(tr),
                                                  "Paper 002, Fig. 2 — transfer rate vs ε"),
    "p002_fig03_one_step_methods": R.fig_one_step(acc, "Paper 002, Fig. 3 — step l.l.-trained model under one-step attacks"),
    "p002_fig05_transfer_error_eps": R.fig_transfer_error_eps(
        tr, *R.transfer_pair(tr), "Paper 002, Fig. 5 — error rate of transferred examples (no prefilter) vs ε"),
}
for slug, fig in figs.items():
    pdf = next(p for p in snakemake.output.pdf if p.endswith(f"/{slug}.pdf"))
    png = next(p for p in snakemake.output.png if p.endswith(f"/{slug}.png"))
    save_figure(fig, pdf, png)
