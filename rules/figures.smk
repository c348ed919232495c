# One target per figure (config/figures.yaml):
#   figNN        figure kind NN for every experiment in config["experiments"]
#   paper_figNN  exactly paper 000's Fig. NN, from the experiment the catalogue names
import yaml

with open(ROOT / "config" / "figures.yaml") as _fh:
    CATALOGUE = yaml.safe_load(_fh)


def catalogue_files(exps, kind):
    """Figure kind `kind` of each experiment in `exps` that runs the stage making it."""
    slug = CATALOGUE["kinds"][kind]
    stage = stages.stage_of_figure(slug).name
    exps = [exps] if isinstance(exps, str) else exps
    return expand("results/{exp}/figures/{slug}.{ext}", exp=[e for e in exps if stage in EXPS[e]], slug=slug,
                  ext=["pdf", "png"])


for _kind in CATALOGUE["kinds"]:

    rule:
        name:
            f"fig{_kind:02d}"
        input:
            catalogue_files(RUN, _kind),
        localrule: True


for _num, _entry in CATALOGUE["paper"].items():

    rule:
        name:
            f"paper_fig{_num:02d}"
        input:
            catalogue_files(_entry["experiment"], _entry["kind"]),
        localrule: True


# Unpadded aliases: `snakemake fig5` builds fig05, `paper_fig5` builds paper_fig05.
for _kind in [k for k in CATALOGUE["kinds"] if k < 10]:

    rule:
        name:
            f"fig{_kind}"
        input:
            catalogue_files(RUN, _kind),
        localrule: True


for _num, _entry in [(n, e) for n, e in CATALOGUE["paper"].items() if n < 10]:

    rule:
        name:
            f"paper_fig{_num}"
        input:
            catalogue_files(_entry["experiment"], _entry["kind"]),
        localrule: True


# One target per paper: `snakemake --cores all paper002` builds paper 002's study (its stages'
# tables, figures and rendered tables) for every experiment in config["experiments"] that runs it,
# and the claims scorecard. paper000 is paper 000's reproduction (its five analysis stages).
def paper_targets(paper):
    targets = []
    for exp in RUN:
        mine = stages.of_paper(EXPS[exp], paper)
        if not mine:
            continue
        targets += expand("results/{exp}/figures/{fig}.{ext}", exp=exp, fig=[f for s in mine for f in s.figures],
                          ext=["pdf", "png"])
        targets += [f"results/{exp}/tables/{t}.parquet" for s in mine for t in s.tables]
        targets += [f"results/{exp}/{r}" for s in mine for r in s.reports]
        targets.append(f"results/{exp}/claims.md")
    return targets


for _paper in stages.PAPERS:

    rule:
        name:
            f"paper{_paper}"
        input:
            paper_targets(_paper),
        localrule: True
