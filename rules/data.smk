rule prepare_data:
    output:
        dataset="results/{exp}/data/dataset.pt",
    log:
        "results/{exp}/logs/prepare_data.log",
    benchmark:
        "results/{exp}/benchmarks/prepare_data.tsv"
    # local on clusters: it may download (compute nodes often have no internet) and is light
    localrule: True
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
