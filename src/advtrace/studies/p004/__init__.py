"""Paper 004 (Mummadi et al. 2019, *Defending Against Universal Perturbations With Shared
Adversarial Training*) as a study stage (``paper004``; advtrace.stages).

* training: the grid of fine-tuning runs uses the ``shared`` method (:mod:`advtrace.methods`,
  heap PGD on min(J, κ));
* :mod:`.robustness`: ε_uni(δ), ε_adv(δ) and a random-noise ε by binary search (Sec. 5), the risk
  ordering ρ_heap(s) over s, the universal perturbations as images;
* :mod:`.front`: Pareto fronts, hypervolumes and the paper's Table A1.
"""
