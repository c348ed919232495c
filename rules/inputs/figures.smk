# Input functions and params of rules/figures.smk (kept apart from the rules: snakemake --lint).


def catalogue_files(exps, kind):
    """Figure kind `kind` of each experiment in `exps` that runs the stage making it."""
    slug = CATALOGUE["kinds"][kind]
    stage = stages.stage_of_figure(slug).name
    exps = [exps] if isinstance(exps, str) else exps
    return expand(
        "results/{exp}/figures/{slug}.{ext}", exp=[e for e in exps if stage in EXPS[e]], slug=slug, ext=["pdf", "png"]
    )


def study_figure_files(exps, stage, key):
    """The figure(s) of `stage` with target `key` (stages.figure_key: a figure's panels share it) of each
    experiment in `exps` that runs the stage."""
    slugs = [slug for slug in stage.figures if stages.figure_key(slug) == key]
    return expand(
        "results/{exp}/figures/{slug}.{ext}",
        exp=[e for e in exps if stage.name in EXPS[e]],
        slug=slugs,
        ext=["pdf", "png"],
    )


# One target per paper: `snakemake --cores all paper002` builds paper 002's study (its stages'
# tables, figures and rendered tables) for every experiment in config["experiments"] that runs it,
# and the claims scorecard. paper000 is paper 000's reproduction (its five analysis stages).
def paper_targets(paper):
    targets = []
    for exp in RUN:
        mine = stages.of_paper(EXPS[exp], paper)
        if not mine:
            continue
        targets += expand(
            "results/{exp}/figures/{fig}.{ext}", exp=exp, fig=[f for s in mine for f in s.figures], ext=["pdf", "png"]
        )
        targets += [f"results/{exp}/tables/{t}.parquet" for s in mine for t in s.tables]
        targets += [f"results/{exp}/{r}" for s in mine for r in s.reports]
        targets.append(f"results/{exp}/claims.md")
    return targets
