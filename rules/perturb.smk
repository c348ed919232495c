# Per-epoch perturbations of a fixed sample set: one cached job per (attack, set, epoch).
# Analyses request the files they need through their input functions; nothing here is a
# final target by itself.


rule perturb:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoint="results/{exp}/checkpoints/epoch_{epoch}.pt",
    output:
        perturbations="results/{exp}/perturbations/{attack}/{set}/epoch_{epoch}.pt",
    params:
        model=section("model"),
        attack_cfg=perturb_attack,
        batch_size=perturb_batch_size,
        seed=section("seed"),
    threads: 1
    resources:
        gpu=1,
    log:
        "results/{exp}/logs/perturb/{attack}/{set}/{epoch}.log",
    benchmark:
        "results/{exp}/benchmarks/perturb/{attack}/{set}/{epoch}.tsv"
    script:
        "../workflow/scripts/perturb.py"
