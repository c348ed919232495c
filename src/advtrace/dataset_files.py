"""Which files an offline dataset needs under its ``root``, checked without torch or torchvision
(the Snakefile calls :func:`dataset_notes` at parse time, so a missing CIFAR-10 or GTSRB shows
in the terminal of a dry run instead of only in ``results/<exp>/logs/prepare_data.log``).

Presence only (names, not checksums): ``prepare_data`` still checks MD5s and extracts archives
(``advtrace.datasets``, which has the full loading rules).

Fashion-MNIST is also found outside ``root``: Debian's package ``dataset-fashion-mnist`` installs
the four official idx files, gzip-compressed, in :data:`FASHION_MNIST_SYSTEM_DIR`, which
``prepare_data`` decompresses into ``root`` in torchvision's layout.
"""

from __future__ import annotations

from pathlib import Path

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = ("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]

# The official archives torchvision's GTSRB.download() fetches into <root>/gtsrb/ (name, md5).
GTSRB_URL = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"
GTSRB_ARCHIVES = {
    "train": [("GTSRB-Training_fixed.zip", "513f3c79a4c5141765e10e952eaa2478")],
    "test": [
        ("GTSRB_Final_Test_Images.zip", "c7e4e6327067d32654124b0fe9e82185"),
        ("GTSRB_Final_Test_GT.zip", "fe31e9c9270bbcd7b84b7f21a9d9d9e5"),
    ],
}

# Fashion-MNIST (Xiao et al. 2017): the four idx files torchvision's FashionMNIST reads, uncompressed,
# from <root>/FashionMNIST/raw/ (name, MD5 of the *uncompressed* file: the content, whichever gzip
# made the .gz - Debian's package recompressed the official archives, so their .gz MD5s differ from
# FASHION_MNIST_GZ_MD5, while the content is the same bytes).
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"  # torchvision's mirror
FASHION_MNIST_FOLDER = "FashionMNIST/raw"
FASHION_MNIST_FILES = [
    ("train-images-idx3-ubyte", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    ("train-labels-idx1-ubyte", "9018921c3c673c538a1fc5bad174d6f9"),
    ("t10k-images-idx3-ubyte", "8181f5470baa50b63fa0f6fddb340f0a"),
    ("t10k-labels-idx1-ubyte", "15d484375f8d13e6eb1aabb0c3f46965"),
]
# MD5s of the official .gz archives (the Fashion-MNIST README's table; torchvision checks them on download)
FASHION_MNIST_GZ_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# Where Debian's `apt-get install dataset-fashion-mnist` puts the four .gz files (`dpkg -L dataset-fashion-mnist`)
FASHION_MNIST_DEBIAN_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"

# ImageNet 2012 (ILSVRC2012): no public download (an account at image-net.org is needed); the files
# torchvision's ImageNet class reads from <root>/imagenet/ (name, md5), by split.
IMAGENET_URL = "https://image-net.org/challenges/LSVRC/2012/2012-downloads.php"
IMAGENET_ARCHIVES = {
    "devkit": ("ILSVRC2012_devkit_t12.tar.gz", "fa75699e90414af021442c21a62c3abf"),
    "train": ("ILSVRC2012_img_train.tar", "1d675b47d978889d74fa0da5fadfb00e"),
    "val": ("ILSVRC2012_img_val.tar", "29b22e2961454d5413ddabcf34fc5622"),
}


def _cifar10_present(root: Path) -> bool:
    folder = root / CIFAR10_FOLDER
    return (root / CIFAR10_ARCHIVE[0]).is_file() or all((folder / f).is_file() for f in CIFAR10_FILES)


def _gtsrb_present(root: Path) -> bool:
    d = root / "gtsrb"
    train = (d / "GTSRB" / "Training").is_dir() or (d / GTSRB_ARCHIVES["train"][0][0]).is_file()
    test = ((d / "GTSRB" / "Final_Test" / "Images").is_dir() and (d / "GT-final_test.csv").is_file()) or all(
        (d / name).is_file() for name, _ in GTSRB_ARCHIVES["test"])
    return train and test


def _imagenet_present(root: Path) -> bool:
    d = root / "imagenet"
    meta = (d / "meta.bin").is_file() or (d / IMAGENET_ARCHIVES["devkit"][0]).is_file()
    return meta and all((d / s).is_dir() or (d / IMAGENET_ARCHIVES[s][0]).is_file() for s in ("train", "val"))


def fashion_mnist_sources(root: Path, system_dir: str | Path | None = None) -> dict[str, Path | None]:
    """For each Fashion-MNIST idx file, where it can be had without the network, in the order
    ``prepare_data`` tries them: the uncompressed file in torchvision's layout under `root`, the
    Debian package's .gz, a .gz under `root` in torchvision's layout; None if none is there."""
    raw = Path(root) / FASHION_MNIST_FOLDER
    system = Path(FASHION_MNIST_SYSTEM_DIR if system_dir is None else system_dir)
    out: dict[str, Path | None] = {}
    for name, _ in FASHION_MNIST_FILES:
        candidates = (raw / name, system / f"{name}.gz", raw / f"{name}.gz")
        out[name] = next((p for p in candidates if p.is_file()), None)
    return out


def _fashion_mnist_present(root: Path) -> bool:
    return all(p is not None for p in fashion_mnist_sources(root).values())


def what_to_put(name: str, root: str | Path) -> str:
    """The files an offline machine needs under `root` for dataset `name` (one per line)."""
    root = Path(root).resolve()
    if name == "cifar10":
        return (f"  {root / CIFAR10_ARCHIVE[0]}   ({CIFAR10_URL}, md5 {CIFAR10_ARCHIVE[1]})\n"
                f"  or its extracted folder {root / CIFAR10_FOLDER}/ ({', '.join(CIFAR10_FILES)})")
    if name == "gtsrb":
        d = root / "gtsrb"
        zips = "\n".join(f"  {d / f}   ({GTSRB_URL}{f}, md5 {md5})" for s in ("train", "test")
                         for f, md5 in GTSRB_ARCHIVES[s])
        return (zips + f"\n  or the extracted {d}/GTSRB/Training/00000..00042/, {d}/GTSRB/Final_Test/Images/ "
                f"and {d}/GT-final_test.csv")
    if name == "fashion_mnist":
        d = root / FASHION_MNIST_FOLDER
        return (f"  the Debian package: apt-get install {FASHION_MNIST_DEBIAN_PACKAGE}   "
                f"(installs the four .gz files in {FASHION_MNIST_SYSTEM_DIR}/, read from there)\n"
                + "\n".join(f"  or {d / n}.gz   ({FASHION_MNIST_URL}{n}.gz, md5 {FASHION_MNIST_GZ_MD5[n + '.gz']})"
                            for n, _ in FASHION_MNIST_FILES)
                + f"\n  or their uncompressed idx files {d}/{{{', '.join(n for n, _ in FASHION_MNIST_FILES)}}}")
    if name == "imagenet":
        d = root / "imagenet"
        return ("\n".join(f"  {d / f}   (md5 {md5})" for f, md5 in IMAGENET_ARCHIVES.values())
                + f"\n  or the extracted {d}/meta.bin, {d}/train/<wnid>/*.JPEG and {d}/val/<wnid>/*.JPEG"
                + f"\n  (no public download: an account at image-net.org, {IMAGENET_URL})")
    raise ValueError(f"dataset {name!r} needs no files")


def dataset_present(name: str, root: str | Path) -> bool:
    """Whether the files of an offline-loadable dataset are under `root` (digits: always;
    fashion_mnist: under `root` or from Debian's package)."""
    root = Path(root).expanduser()
    if name == "cifar10":
        return _cifar10_present(root)
    if name == "gtsrb":
        return _gtsrb_present(root)
    if name == "imagenet":
        return _imagenet_present(root)
    if name == "fashion_mnist":
        return _fashion_mnist_present(root)
    return True  # digits ships with scikit-learn


# torchvision's VGG16_Weights.IMAGENET1K_V1 (paper 001 Sec. 4.2's pretrained VGG16; advtrace.models.load_pretrained)
VGG16_WEIGHTS_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"


def weights_notes(experiments: dict[str, dict], run: list[str], results: str | Path = "results") -> list[str]:
    """One message per experiment in `run` whose ``model.weights`` file is missing while its epoch 0
    is not trained yet: the pretraining job will fail; where the file goes and where it comes from."""
    notes = []
    for exp in run:
        model = experiments[exp].get("model") or {}
        # epoch 0 of the main run (results/<exp>/runs/main/, advtrace.runs), the pretraining that reads the weights
        if not model.get("weights") or (Path(results) / exp / "runs" / "main" / "checkpoints" / "epoch_000.pt").exists():
            continue
        path = Path(model["weights"]).resolve()
        if not path.is_file():
            name = VGG16_WEIGHTS_URL.rsplit("/", 1)[-1]
            notes.append(f"advtrace: WARNING: experiment {exp!r}: model.weights {path} does not exist, so pretrain "
                         f"will fail. Put there {model['name']}'s ImageNet weights ({name}, torchvision's "
                         f"VGG16_Weights.IMAGENET1K_V1, from {VGG16_WEIGHTS_URL}; nothing is downloaded).")
    return notes


def dataset_notes(experiments: dict[str, dict], run: list[str], results: str | Path = "results") -> list[str]:
    """One message per experiment in `run` whose dataset is not under its root yet (and whose
    ``results/<exp>/data/dataset.pt`` is not prepared yet): what ``prepare_data`` will do, and
    the files to put there on a machine without internet access; then :func:`weights_notes`."""
    notes = []
    for exp in run:
        ds = experiments[exp]["dataset"]
        if (Path(results) / exp / "data" / "dataset.pt").exists() or dataset_present(ds["name"], ds["root"]):
            continue
        where = Path(ds["root"]).resolve()
        if ds["download"] and ds["name"] != "imagenet":  # ImageNet has no download
            head = (f"advtrace: experiment {exp!r}: dataset {ds['name']!r} is not in {where} yet; prepare_data "
                    "will download it there (this machine needs internet access). Offline, put there first:")
        else:
            why = "ImageNet has no download" if ds["name"] == "imagenet" else "`dataset: download` is false"
            head = (f"advtrace: WARNING: experiment {exp!r}: dataset {ds['name']!r} is not in {where} and "
                    f"{why}, so prepare_data will fail. Put there:")
        tail = "" if ds["download"] or ds["name"] == "imagenet" else "\n  or set `dataset: download: true` and run on a machine with internet access."
        notes.append(f"{head}\n{what_to_put(ds['name'], where)}{tail}")
    return notes + weights_notes(experiments, run, results)
