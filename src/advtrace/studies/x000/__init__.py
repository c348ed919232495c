"""Beyond the papers: paper 000's analyses of three training methods (stage ``cross_method``).

What does each training method do to the adversarial perturbations of its models? Paper 000 asks
it of BI adversarial training only; papers 002 and 004 train differently (one-step k-of-m
training; shared adversarial training on heaps of inputs) and never look at stability,
sharedness or detectability. Here paper 000's analyses run on one run of each method (each
section's ``runs``, advtrace.studies.p000.plan) and this stage compares them:

* :mod:`.analysis`: the per-run metrics (clean and universal accuracy, sharedness, BI
  detectability, the shares of stable and oscillating perturbations) from paper 000's tables, and
  the comparisons behind the claims, each with its test, its matching of the runs and a Holm
  correction over the whole family;
* :mod:`.claims`: one claim per comparison, its verdict the comparison's;
* :mod:`.plots`: the methods side by side, at the end of training and over training.
"""
