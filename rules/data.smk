rule prepare_data:
    # local on clusters: it may download (compute nodes often have no internet) and is light
    localrule: True
    output:
        dataset="results/{exp}/data/dataset.pt",
    params:
        dataset=section("dataset"),
        seed=section("seed"),
    log:
        "results/{exp}/logs/prepare_data.log",
    benchmark:
        "results/{exp}/benchmarks/prepare_data.tsv"
    script:
        "../workflow/scripts/prepare_data.py"


rule draw_samples:
    localrule: True  # cheap: on clusters it runs where Snakemake runs, no submission
    input:
        dataset="results/{exp}/data/dataset.pt",
    output:
        samples="results/{exp}/data/samples.parquet",
    params:
        samples=section("samples"),
        seed=section("seed"),
    log:
        "results/{exp}/logs/draw_samples.log",
    script:
        "../workflow/scripts/draw_samples.py"
