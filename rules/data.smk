# Experiments whose dataset is too large for memory (ImageNet: JPEG decoding for hours, written to
# memory-mapped .npy files; advtrace.workmodel.DATASETS) prepare it in a cluster job
# (prepare_data_cluster, sized by the work model); the others locally, where Snakemake runs: they
# may download (compute nodes often have no internet) and are light.
from advtrace.workmodel import lazy_experiments

_LAZY = "|".join(lazy_experiments(EXPS.places)) or "(?!)"


rule prepare_data:
    output:
        dataset="results/{exp}/data/dataset.pt",
        benchmark="results/{exp}/benchmarks/prepare_data.tsv",
    log:
        "results/{exp}/logs/prepare_data.log",
    wildcard_constraints:
        exp=rf"(?!(?:{_LAZY})(?:_seed\d+)?(?![A-Za-z0-9_]))[A-Za-z0-9_]+",
    localrule: True
    params:
        dataset=section("dataset"),
        seed=section("seed"),
    script:
        "../workflow/scripts/prepare_data.py"


rule prepare_data_cluster:
    output:
        dataset="results/{exp}/data/dataset.pt",
        benchmark="results/{exp}/benchmarks/prepare_data.tsv",
    log:
        "results/{exp}/logs/prepare_data.log",
    wildcard_constraints:
        exp=rf"(?:{_LAZY})(?:_seed\d+)?",
    threads: 8  # advtrace.datasets.ImageFiles decodes with 8 threads
    params:
        dataset=section("dataset"),
        seed=section("seed"),
    script:
        "../workflow/scripts/prepare_data.py"


rule draw_samples:
    input:
        dataset="results/{exp}/data/dataset.pt",
    output:
        samples="results/{exp}/data/samples.parquet",
    log:
        "results/{exp}/logs/draw_samples.log",
    localrule: True  # cheap: on clusters it runs where Snakemake runs, no submission
    params:
        samples=section("samples"),
        seed=section("seed"),
    script:
        "../workflow/scripts/draw_samples.py"
