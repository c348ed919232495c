"""advtrace: adversarial perturbations under adversarial training, reproduced as a cached workflow.

Modules: config (validation), datasets (raw loaders), data (splits, sample sets), models,
attacks, training, evaluation, tables (Parquet schemas), plotting, runtime (device, threads,
atomic I/O, progress).
"""

__version__ = "0.1.0"
