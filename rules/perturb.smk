# Per-epoch perturbations of fixed sample sets: one cached job per chunk of a run's checkpoint epochs
# (epochs_per_analysis_job of the epochs some stage needs, {chunk} = first-last) loads each θ_t once
# and writes every (attack, sample set) pair that a stage of the experiment needs at t
# (advtrace.perturb_plan) to results/{exp}/runs/{run}/perturbations/epochs_{chunk}/epoch_{t}/{attack}/{set}.pt.
# Epoch 0 of a run that starts from another run's pretrained model is that run's job (the same
# model; advtrace.runs.epoch_owner).
# Jobs over several epochs rather than per (attack, set, epoch) or per epoch: a job's ~2-4 s of
# Python + torch start-up is many times the work of one digits perturbation set (the 66 per-set jobs,
# then the 26 per-epoch jobs, were the largest item of the digits run's job count). The price: adding
# an analysis that needs a new set at t reruns that chunk's job for all its epochs and sets.


include: "inputs/perturb.smk"


rule perturb_epochs:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoints=perturb_checkpoints,
    output:
        perturbations=directory("results/{exp}/runs/{run}/perturbations/epochs_{chunk}"),
        benchmark="results/{exp}/runs/{run}/benchmarks/perturb_epochs/{chunk}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/perturb_epochs/{chunk}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        epochs=perturb_epochs_params,
        chunk_size=perturb_chunk_size,
        seed=perturb_seed,
    script:
        "../workflow/scripts/perturb_epochs.py"
