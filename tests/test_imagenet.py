"""ImageNet (paper 002's dataset) on a tiny fake ImageNet in the real on-disk format, read by the
real torchvision ImageNet class; the memory-mapped split store; Inception v3; the dry run of
config/experiments/imagenet_kurakin.yaml.

The fake archives are real ILSVRC2012-format files (a devkit tar.gz with data/meta.mat written by
scipy.io.savemat and the validation ground truth, a train tar of per-class tars, a flat val tar),
but torchvision checks archives against the official MD5s, so the tests that extract them set
torchvision's expected checksums (``ARCHIVE_META``) to those of the fake archives; the code that
parses and extracts them is torchvision's own."""

import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from advtrace.data import SPLITS, load_dataset, prepare_dataset, resident, sample_set, write_samples
from advtrace.datasets import DatasetUnavailableError, ImageFiles, load_raw
from advtrace.runtime import CheckpointError, load_torch

from conftest import ROOT, copy_workflow, dry_run_jobs, snakemake

pytestmark = pytest.mark.usefixtures("one_thread")

# three leaf synsets (real ILSVRC2012 ids and WordNet ids) and one inner node torchvision must drop
WNIDS = ["n01440764", "n01443537", "n01484850"]
NAMES = ["tench, Tinca tinca", "goldfish, Carassius auratus", "great white shark, white shark"]
IDS = [449, 1, 391]  # ILSVRC2012_ID of each leaf (not in wnid order: labels follow the sorted wnids)
COLOURS = [(230, 20, 20), (20, 230, 20), (20, 20, 230)]  # class colour = the label, checkable after JPEG
TRAIN_PER_CLASS = [3, 2, 2]
VAL_CLASSES = [2, 0, 1, 2, 0]  # class of ILSVRC2012_val_00000001.JPEG, ...; the ground truth lists their IDS
SIZE = 16


def _jpeg(colour, w=60, h=20) -> bytes:
    """A w×h JPEG: the outer quarters along its longer side black, the middle the class colour.
    Resizing the shorter side to SIZE and centre-cropping keeps only colour; a plain resize to
    SIZE×SIZE would keep black."""
    from PIL import Image

    a = np.zeros((h, w, 3), dtype=np.uint8)
    if w >= h:
        a[:, w // 4: w - w // 4] = colour
    else:
        a[h // 4: h - h // 4] = colour
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _tar(path: Path, members: dict[str, bytes], mode: str = "w") -> str:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            _add(tar, name, data)
    return hashlib.md5(path.read_bytes()).hexdigest()


def _meta_mat() -> bytes:
    import scipy.io

    fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children", "wordnet_height",
              "num_train_images"]
    rows = [(i, w, n, "a fish", 0, np.zeros(0), 0, 1300) for i, w, n in zip(IDS, WNIDS, NAMES)]
    rows.append((1001, "n01440000", "fish", "an inner node", 3, np.array(IDS), 1, 0))  # not a class
    synsets = np.empty((len(rows), 1), dtype=[(f, object) for f in fields])
    for k, row in enumerate(rows):
        synsets[k, 0] = row
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"synsets": synsets})
    return buf.getvalue()


def fake_imagenet(root: Path) -> dict[str, tuple[str, str]]:
    """The three official archives under root/imagenet/; returns {kind: (file name, md5)}."""
    d = root / "imagenet"
    d.mkdir(parents=True)
    gt = "".join(f"{IDS[c]}\n" for c in VAL_CLASSES).encode()
    meta = {"devkit": ("ILSVRC2012_devkit_t12.tar.gz", {"ILSVRC2012_devkit_t12/data/meta.mat": _meta_mat(),
            "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt": gt}, "w:gz")}
    inner = {}
    for c, (wnid, n) in enumerate(zip(WNIDS, TRAIN_PER_CLASS)):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for i in range(n):  # varying sizes, every one wider than tall
                _add(tar, f"{wnid}_{i + 1}.JPEG", _jpeg(COLOURS[c], w=60 + 8 * i, h=20 + 4 * i))
        inner[f"{wnid}.tar"] = buf.getvalue()
    meta["train"] = ("ILSVRC2012_img_train.tar", inner, "w")
    meta["val"] = ("ILSVRC2012_img_val.tar", {f"ILSVRC2012_val_{k + 1:08d}.JPEG": _jpeg(COLOURS[c], w=20, h=60)
                                              for k, c in enumerate(VAL_CLASSES)}, "w")
    return {kind: (name, _tar(d / name, members, mode)) for kind, (name, members, mode) in meta.items()}


@pytest.fixture
def imagenet_root(tmp_path, monkeypatch):
    """A fake ImageNet as the official archives; torchvision's expected MD5s set to theirs."""
    from torchvision.datasets import imagenet as tv_imagenet

    archives = fake_imagenet(tmp_path)
    for kind, entry in archives.items():
        monkeypatch.setitem(tv_imagenet.ARCHIVE_META, kind, entry)
    return tmp_path


def _check_colours(x: torch.Tensor, y: torch.Tensor) -> None:
    """Every pixel of image i has the colour of class y[i]: labels match the images, and the crop
    removed the black borders."""
    for img, label in zip(x, y):
        want = torch.tensor(COLOURS[int(label)], dtype=torch.float32).view(3, 1, 1)
        assert (img.float() - want).abs().max() < 40, (int(label), img.float().mean(dim=(1, 2)))


def test_load_raw_reads_the_official_archives_through_torchvision(imagenet_root):
    raw = load_raw("imagenet", imagenet_root, download=False, image_size=SIZE)
    assert raw.name == "imagenet" and raw.num_classes == 1000 and raw.in_channels == 3 and raw.image_size == SIZE
    assert set(raw.sources) == {"train", "val"}
    (xt, yt), (xv, yv) = raw.sources["train"], raw.sources["val"]
    assert isinstance(xt, ImageFiles) and xt.shape == (sum(TRAIN_PER_CLASS), 3, SIZE, SIZE)
    assert xv.shape == (len(VAL_CLASSES), 3, SIZE, SIZE)
    # labels: the index of the wnid among the sorted class folders; the inner synset is no class
    assert yt.tolist() == [c for c, n in enumerate(TRAIN_PER_CLASS) for _ in range(n)]
    assert sorted(yv.tolist()) == sorted(VAL_CLASSES)  # torchvision sorts val/<wnid>/ by class
    # torchvision extracted the archives into the layout it reads
    d = imagenet_root / "imagenet"
    assert (d / "meta.bin").is_file()
    assert sorted(p.name for p in (d / "train").iterdir()) == WNIDS
    assert len(list((d / "val").glob("n*/*.JPEG"))) == len(VAL_CLASSES)
    x = xt[torch.arange(len(yt))]
    assert x.dtype == torch.uint8 and x.shape == (len(yt), 3, SIZE, SIZE)
    _check_colours(x, yt)
    _check_colours(xv[torch.arange(len(yv))], yv)
    # each val image sits in the folder of its ground-truth class
    gt = {f"ILSVRC2012_val_{k + 1:08d}.JPEG": WNIDS[c] for k, c in enumerate(VAL_CLASSES)}
    assert all(Path(p).parent.name == gt[Path(p).name] for p in xv.paths)


def test_resize_shorter_side_then_centre_crop(imagenet_root):
    raw = load_raw("imagenet", imagenet_root, download=False, image_size=SIZE)
    files = raw.sources["train"][0]
    from PIL import Image

    with Image.open(files.paths[0]) as im:
        assert im.size == (60, 20)  # 3:1; resized to 48×16, the centre 16 columns are all colour
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    with Image.open(files.paths[0]) as im:
        squashed = np.asarray(TF.resize(im.convert("RGB"), [SIZE, SIZE], interpolation=InterpolationMode.BILINEAR))
    assert squashed[:, 0].max() < 40  # a plain resize would keep the black border ...
    got = files[torch.tensor([0])][0]
    assert got.shape == (3, SIZE, SIZE) and got.float().amax(dim=0).min() > 150  # ... the crop has none
    # larger output side: still square, shorter side first
    big = load_raw("imagenet", imagenet_root, download=False, image_size=40).sources["val"][0]
    assert big[torch.tensor([0, 1])].shape == (2, 3, 40, 40)


def test_extracted_folders_load_without_the_archives(imagenet_root, monkeypatch):
    load_raw("imagenet", imagenet_root, download=False, image_size=SIZE)  # extracts
    d = imagenet_root / "imagenet"
    for f in d.glob("*.tar*"):
        f.unlink()
    monkeypatch.undo()  # the official MD5s again: no archive is read any more
    raw = load_raw("imagenet", imagenet_root, download=False, image_size=SIZE)
    assert len(raw.sources["train"][1]) == sum(TRAIN_PER_CLASS) and len(raw.sources["val"][1]) == len(VAL_CLASSES)


def test_missing_or_unofficial_imagenet_says_what_to_put_where(tmp_path):
    with pytest.raises(DatasetUnavailableError) as e:
        load_raw("imagenet", tmp_path, download=True, image_size=SIZE)
    msg = str(e.value)
    d = (tmp_path / "imagenet").resolve()
    for name in ("ILSVRC2012_devkit_t12.tar.gz", "ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar"):
        assert str(d / name) in msg
    assert "image-net.org" in msg and "cannot be downloaded" in msg and "meta.bin" in msg
    assert f"{d}/train/<wnid>/*.JPEG" in msg
    # archives that are not the official ones (the fake's MD5s, unpatched): torchvision refuses them
    fake_imagenet(tmp_path)
    with pytest.raises(DatasetUnavailableError) as e:
        load_raw("imagenet", tmp_path, download=False, image_size=SIZE)
    assert "ILSVRC2012_devkit_t12.tar.gz" in str(e.value) and "corrupted" in str(e.value)
    assert "image-net.org" in str(e.value)


def _imagenet_cfg(root: Path) -> dict:
    return {"name": "imagenet", "root": str(root), "download": False, "image_size": SIZE,
            "splits": {"train": {"source": "train", "n": 6}, "val": {"source": "train", "n": 0},
                       "test": {"source": "val", "n": 4}}}


def test_prepared_imagenet_is_memory_mapped_and_indexes_like_a_tensor(imagenet_root, tmp_path):
    out = tmp_path / "results" / "exp" / "data" / "dataset.pt"
    data = prepare_dataset(_imagenet_cfg(imagenet_root), 0, out)
    # dataset.pt holds no images (torch.load(weights_only=True) as ever), the .npy files do
    stored = load_torch(out)
    assert stored["x_store"] == "npy" and not any(f"{s}_x" in stored for s in SPLITS)
    assert {p.name for p in out.parent.iterdir()} == {"dataset.pt", "train_x.npy", "val_x.npy", "test_x.npy"}
    data = load_dataset(out)
    raw = load_raw("imagenet", imagenet_root, download=False, image_size=SIZE)
    for split, n in (("train", 6), ("val", 0), ("test", 4)):
        x = data[f"{split}_x"]
        assert x.shape == (n, 3, SIZE, SIZE) and x.dtype == torch.uint8
        assert isinstance(np.load(out.parent / f"{split}_x.npy", mmap_mode="r"), np.memmap)
        src = raw.sources[{"test": "val"}.get(split, "train")]
        idx = data[f"{split}_source_index"]
        assert torch.equal(x, src[0][idx]) and torch.equal(data[f"{split}_y"], src[1][idx])
    # indexing reads just those images, as the training loop and sample sets do
    pick = torch.tensor([4, 0, 2])
    assert torch.equal(data["train_x"][pick], raw.sources["train"][0][data["train_source_index"][pick]])
    _check_colours(data["train_x"][pick], data["train_y"][pick])
    # per-channel mean/std of train/255 as the in-memory path computes them
    xf = data["train_x"].float() / 255.0
    assert np.allclose(data["mean"], xf.mean(dim=(0, 2, 3)).tolist(), atol=1e-5)
    assert np.allclose(data["std"], xf.std(dim=(0, 2, 3)).tolist(), atol=1e-5)
    # sample sets and the device placement of training
    samples = write_samples({"eval_test": {"split": "test", "n": 3, "exclude": []}}, out, 0,
                            out.parent / "samples.parquet")
    s = sample_set(data, samples, "eval_test")
    assert s.x.shape == (3, 3, SIZE, SIZE) and torch.equal(s.x, data["test_x"][s.index])
    assert resident(data, "train_x", "cpu") is data["train_x"]  # stays a memory map, never copied whole
    assert resident(data, "train_y", "cpu").shape == (6,)


def test_training_reads_mini_batches_from_the_memory_map(imagenet_root, tmp_path):
    from advtrace.training import pretrain

    out = tmp_path / "data" / "dataset.pt"
    prepare_dataset(_imagenet_cfg(imagenet_root), 0, out)
    data = load_dataset(out)
    exp = {"seed": 0, "model": {"name": "preact_resnet18", "width": 4},
           "pretrain": {"epochs": 1, "batch_size": 4,
                        "optimizer": {"name": "rmsprop", "lr": 0.045, "momentum": 0.9, "weight_decay": 4e-5},
                        "schedule": {"name": "multistep", "milestones": [2], "gamma": 0.94},
                        "augment": {"crop_padding": 0, "flip": True}}}
    ckpt = pretrain(data, exp, torch.device("cpu"), tmp_path / "ckpt" / "epoch_000.pt", run="exp")
    assert ckpt["epoch"] == 0 and ckpt["model"]["linear.weight"].shape == (1000, 32)
    assert ckpt["optimizer"]["param_groups"][0]["alpha"] == 0.9  # RMSProp, Szegedy et al.'s decay
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_a_damaged_split_file_names_itself(imagenet_root, tmp_path):
    out = tmp_path / "data" / "dataset.pt"
    prepare_dataset(_imagenet_cfg(imagenet_root), 0, out)
    np.save(out.parent / "test_x.npy", np.zeros((3, 3, SIZE, SIZE), dtype=np.uint8))  # one image short
    with pytest.raises(CheckpointError, match=r"test_x\.npy: holds uint8 \(3, 3, 16, 16\).*\(4, 3, 16, 16\)"):
        load_dataset(out)
    (out.parent / "train_x.npy").unlink()
    with pytest.raises(CheckpointError, match=r"train_x\.npy: cannot be read.*--forcerun"):
        load_dataset(out)


def test_inception_v3_is_torchvisions_behind_normalize():
    import torchvision

    from advtrace.models import MODELS, InceptionV3, _scaled_inception3, build_model

    assert "inception_v3" in MODELS
    model = build_model({"name": "inception_v3", "width": 32}, 1000, 3, 299, [0.5, 0.4, 0.3], [0.2, 0.2, 0.2]).eval()
    assert isinstance(model, InceptionV3) and model.net.AuxLogits is None
    with torch.no_grad():
        assert model(torch.rand(1, 3, 299, 299)).shape == (1, 1000)
    # torchvision documents 27,161,264 parameters for Inception_V3_Weights (with the auxiliary
    # classifier); without it, the aux head's parameters less
    tv = torchvision.models.inception_v3(weights=None, init_weights=False)
    aux = sum(p.numel() for p in tv.AuxLogits.parameters())
    assert sum(p.numel() for p in tv.parameters()) == 27_161_264
    n = sum(p.numel() for p in model.net.parameters())
    assert n == 27_161_264 - aux == 23_834_568
    assert model.normalize.mean.flatten().tolist() == pytest.approx([0.5, 0.4, 0.3])
    # the ρ-scaled builder at ρ = 1 is exactly torchvision's architecture
    same = _scaled_inception3(1000, 1.0)
    assert {k: v.shape for k, v in same.state_dict().items()} == {k: v.shape for k, v in model.net.state_dict().items()}


def test_inception_v3_width_scales_every_convolution():
    from advtrace.models import InceptionV3

    full, half = InceptionV3(10, width=32).net, InceptionV3(10, width=16).net
    convs = lambda m: [c for c in m.modules() if isinstance(c, torch.nn.Conv2d)]  # noqa: E731
    for a, b in zip(convs(full), convs(half), strict=True):
        assert b.out_channels * 2 == a.out_channels
        assert b.in_channels * 2 == a.in_channels or a.in_channels == b.in_channels == 3
    assert half.fc.in_features == 1024 and half.fc.out_features == 10
    with torch.no_grad():
        assert InceptionV3(10, width=16).eval()(torch.rand(2, 3, 75, 75)).shape == (2, 10)
    with pytest.raises(ValueError, match="whole"):
        InceptionV3(10, width=15)  # ρ 15/32: the 80-filter layer would get 37.5 (every layer has 16·k filters: even widths work)
    with pytest.raises(ValueError, match="75x75"):
        InceptionV3(10, width=32, image_size=32)


@pytest.mark.e2e
def test_imagenet_kurakin_dry_run_builds_the_whole_dag(tmp_path):
    import yaml

    from advtrace import runs
    from advtrace.studies.p002 import plan

    cfg = yaml.safe_load((ROOT / "config" / "experiments" / "imagenet_kurakin.yaml").read_text())
    assert cfg["dataset"]["name"] == "imagenet" and cfg["model"]["name"] == "inception_v3"
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--cores", "2", "--config", "experiments=[imagenet_kurakin]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dataset 'imagenet' is not in" in proc.stderr and "ImageNet has no download" in proc.stderr
    assert str(wd / "resources" / "datasets" / "imagenet" / "ILSVRC2012_img_train.tar") in proc.stderr
    jobs = dry_run_jobs(proc)
    named = [r for r in runs.expand(cfg) if r != runs.MAIN]
    epochs = cfg["adv_train"]["epochs"]
    per_job = {r: runs.epochs_per_training_job(cfg, r) for r in named}
    owners = {runs.pretraining_owner(cfg, r) for r in named} - {runs.MAIN}
    models = plan.models(cfg)
    assert len(named) == 25 and set(per_job.values()) == {5}
    assert jobs.pop("total") == sum(jobs.values())
    assert jobs == {
        "prepare_data_cluster": 1,              # a dataset too large for memory: prepared in a cluster job
        "draw_samples": 1,
        # main's 12 clean epochs (the paper's 10k-iteration delay); B (seed 1), C (ELU), ρ = 0.5, 2, Table 7's
        # activations: their own clean start
        "pretrain": 1 + len(owners),
        "adv_train_epoch": epochs,              # main: clean training, one job per epoch
        "adv_train_chained": sum(-(-epochs // k) for k in per_job.values()),  # 25 runs × 35 jobs
        "p002_evaluate": 1, "p002_report": 1, "claims": 1, "all": 1,
    }, jobs
    assert len(owners) == 9 and jobs["adv_train_chained"] == 25 * 35
    assert {m["run"] for m in models} >= set(cfg["paper002"]["methods"]) | {"main", "p002_seed1"}


def test_p002_evaluation_in_blocks_equals_one_pass(monkeypatch):
    """The study attacks the test set in blocks (ImageNet's 50,000 float images would not fit);
    blocks that are multiples of chunk_size give the same tables, step rnd.'s draws included,
    from uint8 images on the CPU as from float ones."""
    import torch.nn as nn

    import advtrace.studies.p002.evaluate as E

    def net(seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Flatten(), nn.Linear(12, 6)).eval()

    nets = {"m0": net(0), "m1": net(1)}
    monkeypatch.setattr(E, "load_checkpoint", lambda path, device: nets[path])  # the project's loader, not torchvision
    x8 = torch.randint(0, 256, (40, 1, 3, 4), dtype=torch.uint8)
    y = torch.randint(0, 6, (40,))
    sec = {"eps": [32, 64], "alpha": 8, "chunk_size": 8}
    models = [{"key": f"m{i}@0", "path": f"m{i}", "run": f"m{i}", "epoch": 0, "model": "linear", "training": "none",
               "roles": [], "iterative": True, "app_a": True, "width": 1, "epochs_total": 1} for i in range(2)]

    def tables(x):
        acc, leak, _ = E.evaluate_models(models, sec, x, y, "cpu", 0)
        tr = E.transfer_table(models, [("A", "m0@0"), ("B", "m1@0")], sec, x, y, "cpu")
        return acc, leak, tr

    whole = tables(x8.float() / 255)  # one block: BLOCK_INPUTS (5000) > 40 inputs
    assert E._blocks(40, 8) == [slice(0, 5000)]
    monkeypatch.setattr(E, "BLOCK_INPUTS", 20)  # blocks of 16 inputs: 16, 16, 8
    assert E._blocks(40, 8) == [slice(0, 16), slice(16, 32), slice(32, 48)]
    for a, b in zip(whole, tables(x8), strict=True):
        assert len(a) > 0
        assert a.equals(b)
    assert set(whole[0]["attack"]) >= {"clean", "step_rnd", "fgsm_pred", "iter_ll", "rand_sign", "rand_normal"}
