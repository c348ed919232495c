# Training jobs take one thread: the digits and smoke models are too small for two threads to
# pay (measured on 2 cores: an adversarial epoch costs 11.7 s CPU with 2 threads, 4.5 s with 1,
# and with 2 threads under load OpenMP's spinning made it 99 s), and a free core runs the
# analysis of finished epochs meanwhile. On a GPU the thread count hardly matters; for a larger
# model on a CPU-only machine, raise it: `--set-threads adv_train_epoch=4 pretrain=4`.
# Float results depend on the thread count (reduction order), as they do on the CPU kind.
#
# pretrain_epochs: the models after the vanilla epochs the learning curve evaluates
# (evaluation.pretrain_epochs, paper 000 Figs. 17/22: epoch_KKK.pt after k vanilla epochs);
# empty for an experiment that evaluates none.
# Every run's files lie under results/{exp}/runs/{run}/ (main included; advtrace.runs): its
# checkpoints, and what paper 000's analyses compute from them. Epoch 0 of a run that shares the
# seed, model and pretraining of an earlier run (main, usually) is that run's: pretrain runs once.
rule pretrain:
    input:
        dataset="results/{exp}/data/dataset.pt",
    output:
        checkpoint="results/{exp}/runs/{run}/checkpoints/epoch_000.pt",
        pretrain_epochs=directory("results/{exp}/runs/{run}/checkpoints/pretrain"),
        benchmark="results/{exp}/runs/{run}/benchmarks/pretrain.tsv",
    log:
        "results/{exp}/runs/{run}/logs/pretrain.log",
    priority: 10
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=run_pretrain_params,
        keep_epochs=pretrain_keep_epochs,
    script:
        "../workflow/scripts/pretrain.py"


rule adv_train_epoch:
    input:
        dataset="results/{exp}/data/dataset.pt",
        previous=previous_checkpoint,
    output:
        checkpoint="results/{exp}/runs/{run}/checkpoints/epoch_{epoch}.pt",
        benchmark="results/{exp}/runs/{run}/benchmarks/adv_train_epoch/{epoch}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/adv_train_epoch/{epoch}.log",
    wildcard_constraints:
        epoch=r"(?!000)\d{3}",
    # the per-epoch chain is usually the critical path (docs/cluster_plans.md): started before the
    # analyses that are ready, it is not left waiting behind them on a few cores (scheduling only)
    priority: 10
    group:
        adv_train_group
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=adv_train_params,
    script:
        "../workflow/scripts/adv_train_epoch.py"


# A run with adv_train.epochs_per_training_job = k > 1 trains k consecutive epochs per job (advtrace.runs.epochs_per_training_job;
# every epoch still writes its checkpoint) and declares the manifest job_NNN.json of its last epoch.
rule adv_train_chained:
    input:
        dataset="results/{exp}/data/dataset.pt",
        previous=chained_previous,
    output:
        manifest="results/{exp}/runs/{run}/checkpoints/job_{epoch}.json",
        benchmark="results/{exp}/runs/{run}/benchmarks/adv_train_chained/{epoch}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/adv_train_chained/{epoch}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        cfg=adv_train_params,
        job=chained_job_params,
    script:
        "../workflow/scripts/adv_train_chained.py"
