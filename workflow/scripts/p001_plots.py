import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from advtrace.mdhtml import page
from advtrace.plotting import save_figure
from advtrace.runtime import atomic_path
from advtrace.studies.p001 import plots
from advtrace.tables import read_table

inp, out = snakemake.input, snakemake.output
exp = snakemake.wildcards.exp
adv = read_table(inp.adversaries, "p001_adversaries")
depth = read_table(inp.depth, "p001_depth")
eps = read_table(inp.eps_transfer, "p001_eps_transfer")
att = read_table(inp.attack_transfer, "p001_attack_transfer")
dyn = read_table(inp.dynamic, "p001_dynamic")
tr = read_table(inp.dynamic_training, "p001_dynamic_training")
names = plots.names_of(adv)
save_figure(plots.fig02(adv, depth, exp), out.fig02_pdf, out.fig02_png)
save_figure(plots.fig03(eps, names, exp), out.fig03_pdf, out.fig03_png)
save_figure(plots.fig04(att, names, exp), out.fig04_pdf, out.fig04_png)
save_figure(plots.fig05(dyn, exp), out.fig05_pdf, out.fig05_png)
save_figure(plots.dynamic_training_curve(tr, exp), out.dynamic_training_pdf, out.dynamic_training_png)
markdown = plots.report(adv, depth, eps, att, dyn, exp, tr)
with atomic_path(out.report) as tmp:
    tmp.write_text(markdown)
with atomic_path(out.report_html) as tmp:
    tmp.write_text(page(markdown))
