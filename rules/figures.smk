# One target per figure (config/figures.yaml; the names: advtrace.stages.figure_key of the registry's slugs):
#   figNN        paper 000's figure kind NN for every experiment in config["experiments"]
#   paper_figNN  exactly paper 000's Fig. NN, from the experiment the catalogue names
#   pNNN_figNN   a study's Fig. NN (e.g. p004_fig03: every panel the study draws of it), and pNNN_<slug> /
#                x000_<slug> for a figure without a number, for every experiment in config["experiments"]
#                that runs the study
# CATALOGUE: config/figures.yaml, loaded by rules/common.smk


include: "inputs/figures.smk"


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


for _stage in stages.all_stages():
    if _stage.paper != "000":
        for _key in dict.fromkeys(stages.figure_key(_slug) for _slug in _stage.figures):

            rule:
                name:
                    _key
                input:
                    study_figure_files(RUN, _stage, _key),
                localrule: True


for _paper in stages.PAPERS:

    rule:
        name:
            f"paper{_paper}"
        input:
            paper_targets(_paper),
        localrule: True
