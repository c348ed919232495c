"""advtrace: adversarial perturbations under adversarial training, reproduced as a cached workflow.

Modules: config (validation), datasets (raw loaders), data (splits, sample sets), models,
attacks, training, checkpoints, evaluation, tables (Parquet schemas), plotting, runtime (device,
threads, atomic I/O, progress).

``advtrace.load_checkpoint(path)`` returns the classifier of a training checkpoint, ready for
evaluation (eval mode, [0, 1] inputs, normalisation inside; ``advtrace.checkpoints``).
"""

__version__ = "0.1.0"
__all__ = ["__version__", "load_checkpoint"]


def __getattr__(name):
    # lazy, so that `import advtrace.runtime` (plot jobs) does not pay for importing torch
    if name == "load_checkpoint":
        from .checkpoints import load_checkpoint

        return load_checkpoint
    raise AttributeError(f"module 'advtrace' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"load_checkpoint"})
