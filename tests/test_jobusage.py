"""A job's own benchmark table (advtrace.jobusage): Snakemake's columns, measured by the job, read
by everything that read Snakemake's benchmark tables."""

import subprocess
import sys
import textwrap

from advtrace import jobusage, plan
from advtrace.studies.p004 import cost

BURN = textwrap.dedent("""
    import sys, time
    from advtrace import jobusage
    jobusage.record(sys.argv[1])
    jobusage.record(sys.argv[1])  # twice: one row, not two
    t = time.process_time()
    x = 0
    while time.process_time() - t < 0.4:
        x += 1
    time.sleep(0.3)  # wall without CPU
""")


def test_a_job_writes_its_usage_at_exit(tmp_path):
    out = tmp_path / "bench" / "job.tsv"
    subprocess.run([sys.executable, "-c", BURN, str(out)], check=True)
    header, row, *rest = out.read_text().splitlines()
    assert header.split("\t") == list(jobusage.COLUMNS) and rest == []
    got = plan.read_benchmark(out)
    # the CPU burnt (0.4 s of this process, plus the interpreter's start-up) and the wall above it
    assert 0.4 <= got["cpu_time"] < 0.4 + 5
    assert got["s"] >= got["cpu_time"] - 0.05 and got["s"] >= 0.7
    assert got["max_rss"] > 5 and got["max_vms"] >= got["max_rss"]
    assert "max_uss" not in got  # NA: not measured
    assert abs(got["mean_load"] - 100 * got["cpu_time"] / got["s"]) < 1
    assert cost.read_benchmark(out) == (got["s"], got["cpu_time"])
    assert not list(out.parent.glob(".*tmp"))  # written atomically


def test_child_processes_count(tmp_path):
    out = tmp_path / "job.tsv"
    code = ("import subprocess, sys; from advtrace import jobusage; jobusage.record(sys.argv[1]); "
            "subprocess.run([sys.executable, '-c', 'import time\\nt=time.process_time()\\n"
            "while time.process_time()-t<0.4: pass'], check=True)")
    subprocess.run([sys.executable, "-c", code, str(out)], check=True)
    assert plan.read_benchmark(out)["cpu_time"] >= 0.4


def test_no_path_no_table(tmp_path):
    subprocess.run([sys.executable, "-c", "from advtrace import jobusage; jobusage.record(None)"], check=True,
                   cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_plan_finds_a_jobs_benchmark_among_its_outputs():
    text = textwrap.dedent("""
        rule perturb_epoch:
            input: results/digits/data/dataset.pt
            output: results/digits/runs/main/perturbations/epoch_001, results/digits/runs/main/benchmarks/perturb_epoch/001.tsv
            jobid: 7
        rule old_style:
            output: results/x/table.parquet
            benchmark: results/x/benchmarks/old.tsv
            jobid: 8
        rule plot:
            output: results/x/figures/a.png
            jobid: 9
    """)
    jobs = {j.rule: j for j in plan.parse_dry_run(text)}
    assert jobs["perturb_epoch"].benchmark == "results/digits/runs/main/benchmarks/perturb_epoch/001.tsv"
    assert jobs["old_style"].benchmark == "results/x/benchmarks/old.tsv"
    assert jobs["plot"].benchmark is None
