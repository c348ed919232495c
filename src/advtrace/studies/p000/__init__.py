"""Paper 000 (Metzen et al. 2018, *Universality, Robustness, and Detectability of Adversarial
Perturbations under Adversarial Training*): its analyses as stages of a study package like the
companion papers' (advtrace.stages).

* :mod:`.plan`: which runs and epochs each analysis section reads (``runs:``, ``run_epochs``).
"""
