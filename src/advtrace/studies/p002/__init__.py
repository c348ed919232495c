"""Paper 002 study: Kurakin, Goodfellow, Bengio (2017), *Adversarial Machine Learning at Scale*.

One-step adversarial training with k of m examples replaced (:func:`advtrace.methods.kofm`), label
leaking, transfer between models and model capacity, on the runs the experiment's ``paper002``
section declares. :mod:`.evaluate` (torch) evaluates every run's final and epoch-0 models in one
job and writes the study's tables; :mod:`.report` (tables only) renders the paper's tables as
Markdown/HTML and draws its figures; :mod:`.schemas`, :mod:`.checks`, :mod:`.claims` plug into
the central modules (advtrace.stages).
"""
