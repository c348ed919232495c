"""Parse-time helpers of the Snakefile (called from ``rules/common.smk``), torch-free so that
building the DAG stays fast.

* :func:`cap_local_gpu_jobs` — GPU safety of the plain ``snakemake --cores all``: every
  GPU-capable rule declares ``resources: gpu=1``; without a global limit on ``gpu`` Snakemake
  would start as many of them at once as cores allow, all on the same GPU.
* :class:`WorkflowFiles` — where the workflow's own files are (schema, figure catalogue, default
  experiments, scripts, software environment, library), also when the workflow is a module of a
  user's Snakefile; the user's files (their experiments, ``results/``, ``resources/``, logs) are
  relative to the working directory.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, TextIO

from .runtime import visible_gpu_count


def cap_local_gpu_jobs(workflow: Any, stream: TextIO | None = None, gpus: int | None = None) -> int | None:
    """Limit the global resource ``gpu`` of a local run to the number of visible GPUs (at least 1).

    Left alone (returns None) when the user set a limit (``--resources gpu=N``, a profile's
    ``resources:``), for cluster and cloud runs (an executor plugin with ``--jobs N``: Snakemake
    then submits every job with its own resources, and its scheduler does not restrict local
    cores either, which is the criterion used here), and in Snakemake's job subprocesses.
    Also left alone on a machine with no visible GPU: every job then runs on the CPU (``device:
    auto``) and ``--cores`` alone bounds them; a cap of 1 would serialise the CPU jobs for nothing
    (the digits run would use one of a laptop's cores). A GPU that no ``/dev/nvidia*`` node shows is
    one torch cannot use either. Returns the limit it set and says so on `stream` (default stderr).
    `gpus` overrides the count (tests).
    """
    resources = workflow.global_resources
    if "gpu" in resources:
        return None  # the user's limit stands
    if resources["_nodes"].value is not None:
        return None  # cluster/cloud submission: each job asks its executor for its own GPU
    if not workflow.is_main_process:
        return None
    visible = visible_gpu_count() if gpus is None else gpus
    if visible < 1:
        return None  # CPU only: nothing to protect, --cores bounds the jobs
    cap = visible
    resources["gpu"] = cap
    print(
        f"advtrace: local run: at most {cap} GPU job{'s' if cap > 1 else ''} (rules with resources gpu=1) "
        f"at a time ({visible} visible NVIDIA GPU{'' if visible == 1 else 's'}); "
        "change with --resources gpu=N",
        file=stream or sys.stderr,
    )
    return cap


# --- the workflow's own files, wherever the workflow is --------------------------------------------

INSTALL_HINT = "README.md, 'Use it in your own project'"


class WorkflowFiles:
    """The workflow's own files, resolved against the workflow's location, never the working directory.

    `basedir` is the directory of the workflow's Snakefile as Snakemake knows it
    (``workflow.current_basedir`` while the Snakefile is parsed; ``workflow.basedir`` is the directory
    of the *user's* Snakefile when this workflow is a module of it). Two cases:

    * a local directory (``snakemake`` in a clone, ``snakemake -s <clone>/Snakefile``, or a module
      ``snakefile: "/path/to/advtrace/Snakefile"``): every file is read there and jobs import the
      ``advtrace`` library from its ``src/`` (``rules/common.smk`` puts it on ``PYTHONPATH``);
    * a git-hosted module (``github("<owner>/advtrace", path="Snakefile", tag="v0.2.0")``, or
      ``"git+file:///path/to/advtrace/Snakefile@v0.2.0"``): Snakemake reads the workflow at that tag, so
      each file is a local copy from its source cache (:meth:`path`), and the library is the
      installed one (``pip install``), which must be the same release (:meth:`library_problems`).

    `sourcecache` is ``workflow.sourcecache`` (needed for a git-hosted workflow only).
    """

    def __init__(self, basedir: Any, sourcecache: Any = None):
        from snakemake.sourcecache import LocalSourceFile

        if isinstance(basedir, (str, Path)):
            basedir = LocalSourceFile(str(Path(basedir).absolute()))
        self.basedir, self.sourcecache = basedir, sourcecache
        self.root = Path(basedir.get_path_or_uri(secret_free=False)) if isinstance(basedir, LocalSourceFile) else None

    def __str__(self) -> str:
        return str(self.root) if self.root is not None else str(self.basedir)  # str(): without credentials

    def source(self, rel: str) -> Any:
        """The workflow's file `rel` (relative to its Snakefile's directory) as a Snakemake SourceFile."""
        return self.basedir.join(rel)

    def exists(self, rel: str) -> bool:
        if self.root is not None:
            return (self.root / rel).exists()
        return self.sourcecache.exists(self.source(rel))

    def path(self, rel: str) -> Path:
        """A local path to the workflow's file `rel`: the file itself, or its source-cache copy."""
        if self.root is not None:
            return self.root / rel
        from .config import ConfigError

        try:
            return Path(self.sourcecache.get_path(self.source(rel)))
        except Exception as err:  # noqa: BLE001 (Snakemake raises several kinds, all meaning "not there")
            raise ConfigError(f"{rel}: not found in the workflow at {self} ({err})") from None

    def file(self, rel: str) -> Any:
        """The workflow's file `rel` as a rule directive (``conda:``) takes it: a path, or a SourceFile."""
        return str(self.root / rel) if self.root is not None else self.source(rel)

    @property
    def experiments(self) -> Any:
        """The workflow's own experiments (``config/experiments``), the last place looked in
        (:func:`advtrace.config.experiments`)."""
        from .config import ExperimentDir

        if self.root is not None:
            return ExperimentDir(self.root / "config" / "experiments", "the workflow's own")
        return _CachedExperimentDir(self)

    def fill_defaults(self, config: dict) -> list[str]:
        """Give each top-level key the user's config lacks the workflow's default (its own
        ``config/config.yaml``), so that a deployment's config, copied from an older release, keeps
        working when a release adds a setting; a misspelt key is still rejected by the schema.
        Returns the keys filled in."""
        import copy

        from .config import load_yaml

        defaults = load_yaml(self.path("config/config.yaml"))
        missing = [k for k in defaults if k not in config]
        for key in missing:
            config[key] = copy.deepcopy(defaults[key])
        return missing

    def library_dir(self) -> Path:
        """The directory holding the ``advtrace`` package the jobs import (code fingerprints read it)."""
        if self.root is not None:
            return self.root / "src"
        import advtrace

        return Path(advtrace.__file__).resolve().parents[1]

    def version(self) -> str | None:
        """The workflow's release (``version`` of its pyproject.toml)."""
        m = re.search(r'(?m)^version\s*=\s*"([^"]+)"', self.path("pyproject.toml").read_text())
        return m.group(1) if m else None

    def check_library(self) -> None:
        """A git-hosted workflow runs the installed ``advtrace`` library, which must be the workflow's release
        (a ConfigError says how to install it); a local workflow imports its own ``src/``: nothing to check."""
        if self.root is None:
            from .config import ConfigError
            import advtrace

            want, have = self.version(), advtrace.__version__
            if want != have:
                raise ConfigError(
                    f"the workflow at {self} is release {want}, but the advtrace library Python imports "
                    f"({Path(advtrace.__file__).parent}) is {have}: install the library of the workflow's release: "
                    f"pip install \"{self.pip_spec()}\" ({INSTALL_HINT})")

    def pip_spec(self) -> str:
        """What ``pip install`` takes to install this workflow's library at its git reference."""
        b = self.basedir
        if hasattr(b, "repo_path"):  # git+file:// (Snakemake's LocalGitFile)
            return f"advtrace @ git+file://{Path(b.repo_path).absolute()}@{b.ref}"
        if hasattr(b, "host") and hasattr(b, "repo"):  # github(...) / gitlab(...)
            return f"advtrace @ git+https://{b.host}/{b.repo}@{b.ref}"
        return "advtrace @ git+https://github.com/<owner>/advtrace@v<version>"

    def owns(self, rule: Any) -> bool:
        """Whether `rule` is one of this workflow's (its rule file lies inside the workflow), not a rule
        of the user's Snakefile that uses this workflow as a module."""
        where = rule.basedir
        while where is not None:
            if where == self.basedir:
                return True
            parent = where.get_basedir()
            where = None if parent == where else parent
        return False

    def script(self, rule: Any) -> Path:
        """A local path to the script of one of this workflow's rules (its source-cache copy when hosted)."""
        src = rule.basedir.join(str(rule.script))
        if self.root is not None:
            return Path(src.get_path_or_uri(secret_free=False)).resolve()
        return Path(self.sourcecache.get_path(src))


class _CachedExperimentDir:
    """``config/experiments`` of a git-hosted workflow: each ``<name>.yaml`` read through Snakemake's
    source cache; the names come from the git tree when Snakemake's clone of it can be read."""

    def __init__(self, wf: WorkflowFiles):
        self.wf, self.rel = wf, "config/experiments"

    def file(self, name: str) -> Path | None:
        rel = f"{self.rel}/{name}.yaml"
        return self.wf.path(rel) if self.wf.exists(rel) else None

    def names(self) -> list[str]:
        try:
            tree = _git_tree(self.wf.basedir)
            for part in self.rel.split("/"):
                tree = tree / part
            return sorted(b.name[:-5] for b in tree.blobs if b.name.endswith(".yaml"))
        except Exception:  # noqa: BLE001 (names are only listed in messages; lookups by name still work)
            return []

    def key(self) -> str:
        return str(self.wf.source(self.rel))

    def __str__(self) -> str:
        return f"{self.key()} (the workflow's own)"


def _git_tree(basedir: Any) -> Any:
    """The GitPython tree of a git-hosted workflow's directory at its reference."""
    if hasattr(basedir, "repo_path"):
        import git

        repo = git.Repo(basedir.repo_path)
    else:
        repo = basedir.hosted_repo.repo
    tree = repo.commit(basedir.ref).tree
    return tree / basedir.path if basedir.path.strip("/") else tree
