# Temporal stability profiles, transfer matrices and sharedness (paper 000 Sec. 3.1, App. A-C;
# Figs. 1, 2, 9, 10, 11). One forward-only job per chunk of checkpoint epochs (config
# epochs_per_analysis_job) loads each θ_t once and evaluates every perturbation file (from the
# generic perturb rule) that has θ_t as target;
# one aggregation job builds the tables; the plot rules read tables only.
from advtrace import stability_plan as _stability


include: "inputs/stability.smk"


# The T x T profiles make every epoch's job read the perturbations of every epoch: T^2 file
# dependencies (64 000 for the CIFAR-10 config's 252 epochs, most of its dry-run time). The jobs
# depend instead on one manifest per run that depends on all those directories (2T edges). A
# recomputed perturbation directory is newer than the manifest, so the manifest and every
# stability job are rerun, as with direct dependencies.
rule stability_manifest:
    input:
        stability_manifest_inputs,
    output:
        "results/{exp}/runs/{run}/perturbations/stability_manifest.json",
    log:
        "results/{exp}/runs/{run}/logs/stability_manifest.log",
    localrule: True
    run:
        from advtrace.perturb_plan import write_manifest

        write_manifest(input, output[0], log[0])


rule stability_epochs:
    input:
        dataset="results/{exp}/data/dataset.pt",
        samples="results/{exp}/data/samples.parquet",
        checkpoints=stability_chunk_checkpoints,
        perturbations="results/{exp}/runs/{run}/perturbations/stability_manifest.json",
    output:
        transfer="results/{exp}/runs/{run}/metrics/stability/epochs_{chunk}/transfer.parquet",
        pairwise="results/{exp}/runs/{run}/metrics/stability/epochs_{chunk}/pairwise.parquet",
        benchmark="results/{exp}/runs/{run}/benchmarks/stability_epochs/{chunk}.tsv",
    log:
        "results/{exp}/runs/{run}/logs/stability_epochs/{chunk}.log",
    threads: 1
    resources:
        gpu=1,
    params:
        checkpoints=stability_chunk_checkpoint_files,
        plans=stability_chunk_plans,
        files=stability_chunk_files,
        chunk_size=stability_chunk_size,
    script:
        "../workflow/scripts/stability_epochs.py"


# One job aggregates every analysed run (stability.runs): each run's tables from its parts, with a
# run column.
rule stability_tables:
    input:
        stability_all_parts,
    output:
        **{name: table(name) for name in stages.STAGES["stability"].tables},
        benchmark="results/{exp}/benchmarks/stability_tables.tsv",
    log:
        "results/{exp}/logs/stability_tables.log",
    params:
        runs=stability_aggregate_params,
    script:
        "../workflow/scripts/stability_tables.py"


rule plot_stability_profiles:
    input:
        profile=table("stability_profile"),
        summary=table("stability_summary"),
    output:
        pdf=figure("fig01", "pdf"),
        png=report_figure("fig01"),
    log:
        "results/{exp}/logs/plot_stability_profiles.log",
    params:
        run=figure_run("stability"),
    script:
        "../workflow/scripts/plot_stability_profiles.py"


rule plot_sharedness_vs_stability:
    input:
        table=table("sharedness_vs_stability"),
        correlation=table("stability_correlation"),
    output:
        pdf=figure("fig02", "pdf"),
        png=report_figure("fig02"),
    log:
        "results/{exp}/logs/plot_sharedness_vs_stability.log",
    params:
        run=figure_run("stability"),
    script:
        "../workflow/scripts/plot_sharedness_vs_stability.py"


rule plot_transfer_error:
    input:
        table=table("transfer_error"),
    output:
        pdf=figure("fig09", "pdf"),
        png=report_figure("fig09"),
    log:
        "results/{exp}/logs/plot_transfer_error.log",
    params:
        run=figure_run("stability"),
    script:
        "../workflow/scripts/plot_transfer_error.py"


rule plot_maxmin_minmax:
    input:
        summary=table("stability_summary"),
    output:
        pdf=figure("fig10", "pdf"),
        png=report_figure("fig10"),
    log:
        "results/{exp}/logs/plot_maxmin_minmax.log",
    params:
        run=figure_run("stability"),
    script:
        "../workflow/scripts/plot_maxmin_minmax.py"


rule plot_sharedness:
    input:
        table=table("sharedness"),
        summary=table("sharedness_summary"),
    output:
        pdf=figure("fig11", "pdf"),
        png=report_figure("fig11"),
    log:
        "results/{exp}/logs/plot_sharedness.log",
    params:
        run=figure_run("stability"),
    script:
        "../workflow/scripts/plot_sharedness.py"
