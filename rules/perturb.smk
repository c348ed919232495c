# Per-epoch perturbations of fixed sample sets: one cached job per (run, checkpoint epoch t) loads
# θ_t once and writes every (attack, sample set) pair that a stage of the experiment needs at t
# (advtrace.perturb_plan) to results/{exp}/runs/{run}/perturbations/epoch_{t}/{attack}/{set}.pt.
# Epoch 0 of a run that starts from another run's pretrained model is that run's job (the same
# model; advtrace.runs.epoch_owner).
# One job per epoch rather than per (attack, set, epoch): a job's ~2-4 s of Python + torch
# start-up is many times the work of one digits perturbation set, and the 66 per-set jobs were
# the largest item of the digits run. The price: adding an analysis that needs a new set at t
# reruns that epoch's job for all its sets.


include: "inputs/perturb.smk"


rule perturb_epoch:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoint=perturb_checkpoint,
    output:
        perturbations=directory("results/{exp}/runs/{run}/perturbations/epoch_{epoch}"),
        benchmark="results/{exp}/runs/{run}/benchmarks/perturb_epoch/{epoch}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/perturb_epoch/{epoch}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        checkpoint=perturb_checkpoint_file,
        tasks=perturb_epoch_tasks,
        chunk_size=perturb_chunk_size,
        seed=perturb_seed,
    script:
        "../workflow/scripts/perturb_epoch.py"
