"""Paper 001 (Metzen et al., 2017, *On Detecting Adversarial Perturbations*) as a study stage.

Digits protocol (config section ``paper001``; the classifier is the experiment's pretrained model,
epoch 0 of the main run, frozen):

* one job per adversary family (``p001_family``): adversarial examples of the train, val and
  test sample sets for every ε of the family's grid; the test accuracy under each; ε* = the
  smallest ε whose test accuracy is below ``target_accuracy`` (paper: 30 %); one detector per
  attachment position AD(0)..AD(k) at ε* (Fig. 2 right), the best position chosen on the
  *validation* detectability; one detector per ε of the grid at that position (Fig. 2 left) and
  the ε_fit × ε_test detectability matrix (Fig. 3); every detector is a checkpoint file;
* one job for the attack × attack matrix (``p001_attack_transfer``, Fig. 4): each family's
  ε* detector on every family's ε* test examples;
* one job for the dynamic adversary (``p001_dynamic``, Sec. 3.3, Fig. 5): a dynamically trained
  detector, then classifier accuracy and detectability (successful adversarial examples only)
  of the static and the dynamic detector for every σ.

Detectors train on cached feature maps of the frozen classifier (the classifier is in eval mode,
so its feature map of an input never changes: training on cached maps is the same computation as
training through the frozen classifier, without repeating its forward pass every epoch).
"""
