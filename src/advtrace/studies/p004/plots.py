"""Paper 004's figures, pure functions of its tables (advtrace.plotting conventions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ...plotting import plt, style
from .front import baseline_models, final_models, on_front
from .plan import EPS_MAX


def _eps(v) -> np.ndarray:
    return np.nan_to_num(np.asarray(v, float), nan=EPS_MAX)


def _err(d: pd.DataFrame, key: str) -> np.ndarray:
    v = _eps(d[key])
    return np.vstack([np.clip(v - d[f"{key}_low"].to_numpy(), 0, None), np.clip(d[f"{key}_high"].to_numpy() - v, 0, None)])


def pareto(rob: pd.DataFrame, front: pd.DataFrame, experiment: str, delta: float) -> plt.Figure:
    """Fig. 3 (left): clean accuracy vs ε_uni(δ) of every final shared model, the front per s (the
    p004_front table's entries, as Table A1 lists them), ERM and paper 000's chain as a trajectory over
    its epochs."""
    style()
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    fin = final_models(rob)
    colours = plt.get_cmap("viridis")(np.linspace(0.1, 0.8, max(1, fin["heap_size"].nunique())))
    for i, (c, (s, g)) in enumerate(zip(colours, fin.groupby("heap_size", sort=True))):
        ax.errorbar(100 * g["accuracy"], _eps(g["eps_uni"]), yerr=_err(g, "eps_uni"),
                    xerr=100 * np.vstack([g["accuracy"] - g["ci_low"], g["ci_high"] - g["accuracy"]]),
                    fmt="o", color=c, alpha=0.45, ms=5, capsize=2)
        f = front[front["heap_size"] == s].sort_values("accuracy")
        label = f"s = {s}" + (" (standard adversarial training)" if s == 1 else " (shared)")
        ax.plot(100 * f["accuracy"], _eps(f["eps_uni"]), "-o", color=c, lw=2, ms=7, label=label)
        for r in g.itertuples():  # labels of alternate families above / below their points
            ax.annotate(f"ε{r.eps_train:g} σ{r.adv_weight:g}", (100 * r.accuracy, _eps([r.eps_uni])[0]), fontsize=7,
                        xytext=(4, 4 if i % 2 == 0 else -11), textcoords="offset points", color=c)
    main = rob[rob["family"].isin(["erm", "paper000"]) & (rob["run"] == "main")].sort_values("epoch")
    if len(main) > 1:
        ax.plot(100 * main["accuracy"], _eps(main["eps_uni"]), ":o", color="grey", lw=1.5, ms=4,
                label="paper 000 chain (epochs)")
        for r in main.itertuples():
            if r.epoch > 0:
                ax.annotate(f"t={r.epoch}", (100 * r.accuracy, _eps([r.eps_uni])[0]), fontsize=7, color="grey",
                            xytext=(4, -9), textcoords="offset points")
    _baselines(ax, baseline_models(rob), lambda d: _eps(d["eps_uni"]), lambda d: _err(d, "eps_uni"))
    erm = rob[rob["family"] == "erm"]
    if len(erm):
        ax.errorbar(100 * erm["accuracy"], _eps(erm["eps_uni"]), yerr=_err(erm, "eps_uni"), fmt="*", color="crimson",
                    ms=14, capsize=2, label="ERM (pretrained)")
    ax.set_xlabel("clean accuracy on held-out test inputs (%)")
    ax.set_ylabel(f"ε_uni(δ = {delta}) ([0,255] pixel units)")
    ax.set_title(f"Paper 004, Fig. 3 — Pareto front per sharedness ({experiment})")
    ax.legend(fontsize=8, loc="best")
    return fig


BASELINE_STYLE = {"deepfool_uad": ("s", "tab:orange", "DeepFool UAD (Moosavi-Dezfooli et al. 2017)"),
                  "fictitious_play": ("^", "tab:red", "FictitiousPlay (Perolat et al. 2018)")}


def _baselines(ax, base: pd.DataFrame, y, yerr) -> None:
    """The baseline defences' final models as separate markers (Fig. 3)."""
    for fam, g in base.groupby("family", sort=True):
        marker, colour, label = BASELINE_STYLE.get(fam, ("x", "black", fam))
        ax.errorbar(100 * g["accuracy"], y(g), yerr=yerr(g),
                    xerr=100 * np.vstack([g["accuracy"] - g["ci_low"], g["ci_high"] - g["accuracy"]]),
                    fmt=marker, color=colour, ms=8, capsize=2, label=label)
        for r in g.itertuples():
            ax.annotate(f"ε{r.eps_train:g}", (100 * r.accuracy, float(y(g[g["run"] == r.run])[0])), fontsize=7,
                        xytext=(4, -9), textcoords="offset points", color=colour)


def deepfool_front(rob: pd.DataFrame, experiment: str, eps: float) -> plt.Figure:
    """Fig. 3 (right): clean accuracy vs accuracy under the DeepFool universal perturbation of a fixed
    ε (Moosavi-Dezfooli et al. 2017), per sharedness with its front, the baselines, ERM and paper
    000's chain."""
    style()
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    d = rob[rob["deepfool_accuracy"].notna()]

    def y(g):
        return 100 * g["deepfool_accuracy"].to_numpy()

    def yerr(g):
        return 100 * np.vstack([g["deepfool_accuracy"] - g["deepfool_ci_low"], g["deepfool_ci_high"] - g["deepfool_accuracy"]])

    fin = final_models(d)
    colours = plt.get_cmap("viridis")(np.linspace(0.1, 0.8, max(1, fin["heap_size"].nunique())))
    for i, (c, (s, g)) in enumerate(zip(colours, fin.groupby("heap_size", sort=True))):
        ax.errorbar(100 * g["accuracy"], y(g), yerr=yerr(g),
                    xerr=100 * np.vstack([g["accuracy"] - g["ci_low"], g["ci_high"] - g["accuracy"]]),
                    fmt="o", color=c, alpha=0.45, ms=5, capsize=2)
        f = g[on_front(g["accuracy"].to_numpy(), g["deepfool_accuracy"].to_numpy())].sort_values("accuracy")
        label = f"s = {s}" + (" (standard adversarial training)" if s == 1 else " (shared)")
        ax.plot(100 * f["accuracy"], y(f), "-o", color=c, lw=2, ms=7, label=label)
        for r in g.itertuples():
            ax.annotate(f"ε{r.eps_train:g} σ{r.adv_weight:g}", (100 * r.accuracy, 100 * r.deepfool_accuracy),
                        fontsize=7, xytext=(4, 4 if i % 2 == 0 else -11), textcoords="offset points", color=c)
    _baselines(ax, baseline_models(d), y, yerr)
    main = d[d["family"].isin(["erm", "paper000"]) & (d["run"] == "main")].sort_values("epoch")
    if len(main) > 1:
        ax.plot(100 * main["accuracy"], y(main), ":o", color="grey", lw=1.5, ms=4, label="paper 000 chain (epochs)")
        for r in main.itertuples():
            if r.epoch > 0:
                ax.annotate(f"t={r.epoch}", (100 * r.accuracy, 100 * r.deepfool_accuracy), fontsize=7, color="grey",
                            xytext=(4, -9), textcoords="offset points")
    erm = d[d["family"] == "erm"]
    if len(erm):
        ax.errorbar(100 * erm["accuracy"], y(erm), yerr=yerr(erm), fmt="*", color="crimson", ms=14, capsize=2,
                    label="ERM (pretrained)")
    ax.set_xlabel("clean accuracy on held-out test inputs (%)")
    ax.set_ylabel(f"accuracy under DeepFool universal pert., ε = {eps:g} (%)")
    ax.set_title(f"Paper 004, Fig. 3 (right) — DeepFool universal perturbations ({experiment})")
    ax.legend(fontsize=8, loc="best")
    return fig


def curves(rob: pd.DataFrame, runs: list[str], experiment: str, delta: float) -> plt.Figure:
    """Fig. 5: per epoch, clean accuracy, ε_adv(δ) and ε_uni(δ) of the curve runs (s = 1 vs the
    largest s); horizontal lines: the ERM model."""
    style()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    erm = rob[rob["family"] == "erm"]
    markers = ["o", "D", "s", "^"]
    for i, run in enumerate(runs):
        d = rob[rob["run"] == run].sort_values("epoch")
        if not len(d):
            continue
        label = f"s = {d['heap_size'].iloc[0]}, ε = {d['eps_train'].iloc[0]:g}, σ = {d['adv_weight'].iloc[0]:g}"
        if len(erm):
            d = pd.concat([erm, d])
        x = d["epoch"].to_numpy()
        axes[0].errorbar(x, 100 * d["accuracy"], yerr=100 * np.vstack([d["accuracy"] - d["ci_low"], d["ci_high"] - d["accuracy"]]),
                         marker=markers[i % 4], capsize=2, label=label)
        for ax, key in ((axes[1], "eps_adv"), (axes[2], "eps_uni")):
            ax.errorbar(x, _eps(d[key]), yerr=_err(d, key), marker=markers[i % 4], capsize=2, label=label)
    titles = ("clean accuracy (%)", f"ε_adv(δ = {delta}), per-input PGD", f"ε_uni(δ = {delta}), universal S-PGD")
    for ax, t, key in zip(axes, titles, ("accuracy", "eps_adv", "eps_uni")):
        ax.set_xlabel("fine-tuning epoch (0 = ERM)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(t, fontsize=10)
        if len(erm):
            v = 100 * erm[key].iloc[0] if key == "accuracy" else _eps(erm[key])[0]
            ax.axhline(v, color="black", lw=1, ls="--", label="ERM")
    axes[0].set_ylabel("%")
    axes[1].set_ylabel("ε ([0,255] pixel units)")
    axes[2].set_ylabel("ε ([0,255] pixel units)")
    axes[2].legend(fontsize=8)
    fig.suptitle(f"Paper 004, Fig. 5 — standard (s = 1) vs shared adversarial training per epoch ({experiment})")
    fig.tight_layout()
    return fig


def risk(df: pd.DataFrame, experiment: str) -> plt.Figure:
    """ρ_heap(s) over s with ρ_exp (clean) and ρ_uni: mean min(J, κ) and misclassification rate."""
    style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    heap = df[df["kind"] == "heap"].sort_values("heap_size")
    for ax, key, lo, hi, ylabel in ((axes[0], "loss", "loss_low", "loss_high", "mean min(J, κ) (nats)"),
                                    (axes[1], "rate", "ci_low", "ci_high", "misclassification rate (%)")):
        k = 100 if key == "rate" else 1
        ax.errorbar(heap["heap_size"], k * heap[key], yerr=k * np.vstack([heap[key] - heap[lo], heap[hi] - heap[key]]),
                    marker="o", capsize=2, label="ρ_heap(s) (s = 1: ρ_adv)")
        for kind, colour, label in (("universal", "crimson", "ρ_uni (S-PGD, generation set)"),
                                    ("clean", "black", "ρ_exp (clean)")):
            r = df[df["kind"] == kind]
            if len(r):
                ax.axhline(k * r[key].iloc[0], color=colour, ls="--", lw=1, label=label)
                ax.axhspan(k * r[lo].iloc[0], k * r[hi].iloc[0], color=colour, alpha=0.1)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sharedness s (inputs per heap; log scale)")
        ax.set_ylabel(ylabel)
    axes[1].legend(fontsize=8)
    r0 = df.iloc[0]
    fig.suptitle(f"Paper 004, Sec. 4.2 — risk ordering ρ_adv ≥ ρ_heap(s) ≥ ρ_uni on {r0['run']} epoch {r0['epoch']}, "
                 f"ε = {r0['eps']:g} ({experiment})", fontsize=11)
    fig.tight_layout()
    return fig


def images(img: pd.DataFrame, rob: pd.DataFrame, defended: str, experiment: str) -> plt.Figure:
    """Fig. 1: the input, and input + universal perturbation of the undefended (ERM) and the defended
    model, with the perturbations (at each model's ε_uni) below."""
    style()

    def arr(d: pd.DataFrame) -> np.ndarray:
        c, h, w = d["channel"].max() + 1, d["row"].max() + 1, d["col"].max() + 1
        a = np.zeros((c, h, w))
        a[d["channel"], d["row"], d["col"]] = d["value"]
        return a.transpose(1, 2, 0)

    x = arr(img[img["kind"] == "input"])
    pert = img[img["kind"] == "perturbation"]
    models = [("main", "undefended (ERM)")] + [(defended, f"defended ({defended})")]
    fig, axes = plt.subplots(2, 3, figsize=(10, 8.8))  # room for the three-line titles above the lower row
    gray = "gray" if x.shape[2] == 1 else None
    sq = (lambda a: a[..., 0]) if x.shape[2] == 1 else (lambda a: a)
    axes[0, 0].imshow(sq(x), cmap=gray, vmin=0, vmax=255)
    axes[0, 0].set_title("clean input", fontsize=10)
    axes[1, 0].axis("off")
    for j, (run, label) in enumerate(models, start=1):
        d = pert[pert["run"] == run]
        if not len(d):
            axes[0, j].set_title(f"{label}: no ε ≤ 255 reached δ", fontsize=9)
            continue
        p = arr(d)
        eps = d["eps"].iloc[0]
        r = rob[(rob["run"] == run) & (rob["epoch"] == d["epoch"].iloc[0])]
        acc = f"; clean acc. {100 * r['accuracy'].iloc[0]:.1f} %" if len(r) else ""
        axes[0, j].imshow(sq(np.clip(x + p, 0, 255)), cmap=gray, vmin=0, vmax=255)
        axes[0, j].set_title(f"{label}\ninput + perturbation\nε_uni = {eps:.1f}{acc}", fontsize=9)
        axes[1, j].imshow(sq(127.5 + p * 127.5 / max(eps, 1e-9)), cmap=gray, vmin=0, vmax=255)
        axes[1, j].set_title(f"universal perturbation\n(±{eps:.1f} shown as black/white)", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Paper 004, Fig. 1 — universal perturbations of the undefended and defended model ({experiment})")
    fig.tight_layout()
    return fig
