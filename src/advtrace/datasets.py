"""Raw datasets as uint8 image tensors, read through the real torchvision / scikit-learn loaders.

``load_raw(name, root, download, image_size)`` returns a :class:`RawDataset` whose ``sources``
map each *official* split of the dataset to ``(x, y)``: ``x`` uint8 ``N×C×H×W`` with pixel values
0..255 (the units every later stage stores; models divide by 255 themselves), ``y`` int64 ``N``.
``advtrace.data`` then draws the experiment's train/val/test splits from these sources.

Datasets
--------
``digits``
    scikit-learn's bundled 8×8 handwritten digits (``sklearn.datasets.load_digits``; ships with
    scikit-learn, never downloaded; ``root``/``download`` are ignored). 1797 grey images, 10
    classes, 17 grey levels 0..16 rescaled to uint8 as ``round(v * 255 / 16)`` (0→0, 8→128,
    16→255). One source ``"all"`` (there is no official split). ``image_size`` must be 8 (or None).

``cifar10``
    CIFAR-10 via ``torchvision.datasets.CIFAR10``. Sources ``"train"`` (50000) and ``"test"``
    (10000), 3×32×32 RGB, 10 classes. ``image_size`` must be 32 (or None). Files under ``root``::

        <root>/cifar-10-python.tar.gz          the official archive (extracted here on first use), or
        <root>/cifar-10-batches-py/            its extracted folder: data_batch_1 … data_batch_5,
                                               test_batch, batches.meta (checked by MD5)

``gtsrb``
    German Traffic Sign Recognition Benchmark via ``torchvision.datasets.GTSRB``. Sources
    ``"train"`` (official training set, 39209 images) and ``"test"`` (official final test set,
    12630 images), 43 classes, RGB. Images have varying sizes (15×15 … 250×250) and are resized
    to ``image_size``×``image_size`` (default 32) with PIL's bilinear filter. Files under
    ``root`` (the layout torchvision's GTSRB class downloads and expects)::

        <root>/gtsrb/GTSRB/Training/00000/*.ppm … 00042/*.ppm    from GTSRB-Training_fixed.zip
        <root>/gtsrb/GTSRB/Final_Test/Images/*.ppm               from GTSRB_Final_Test_Images.zip
        <root>/gtsrb/GT-final_test.csv                           from GTSRB_Final_Test_GT.zip
                                                                 (Filename;…;ClassId, ';'-separated)

    The three official zips may instead be placed in ``<root>/gtsrb/``; they are then extracted
    there on first use. The train label is the class folder (``00007`` → 7), the test label the
    CSV's ``ClassId``.

``fashion_mnist``
    Fashion-MNIST (Xiao et al. 2017; Zalando's 28×28 grey images of clothing, MIT licence) via
    ``torchvision.datasets.FashionMNIST``. Sources ``"train"`` (60000) and ``"test"`` (10000),
    1×28×28, 10 classes (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
    Ankle boot). ``image_size`` must be 28 (or None). torchvision reads the four *uncompressed*
    idx files in its layout under ``root``::

        <root>/FashionMNIST/raw/train-images-idx3-ubyte, train-labels-idx1-ubyte,
                                t10k-images-idx3-ubyte,  t10k-labels-idx1-ubyte

    Each missing one is made from the first of: Debian's package ``dataset-fashion-mnist``
    (``apt-get install dataset-fashion-mnist``: the official files, gzip-compressed, in
    ``/usr/share/datasets/fashion-mnist/``, a folder only root can write), then a ``<name>.gz``
    under ``<root>/FashionMNIST/raw/`` (torchvision's download leaves them there), decompressed
    into place. Every idx file is checked by the MD5 of its uncompressed content
    (``dataset_files.FASHION_MNIST_FILES``: Debian recompressed the official ``.gz`` archives, so
    their archive MD5s differ, not their content); a corrupt file is replaced from a good source,
    or named in the error.

``imagenet``
    ImageNet 2012 (ILSVRC2012 classification) via ``torchvision.datasets.ImageNet``. Sources
    ``"train"`` (1,281,167 images) and ``"val"`` (50,000; the official validation set, which
    paper 002 evaluates on), 1000 classes (label = the index of the WordNet id among the sorted
    ``wnid`` folders, torchvision's order), RGB. Each image's shorter side is resized to
    ``image_size`` (bilinear, antialiased) and the centre ``image_size``×``image_size`` is cropped
    (default 299, Inception v3). ``classes`` (a list of WordNet ids) keeps only those classes'
    images, labelled 0..k-1 in the list's order (paper 001's 10-class subset); the dataset then
    records each class's index among the 1000 (``class_index``, which a pretrained 1000-class model
    selects its logits by) and its name. At 299 px the images fill ~343 GB, so the sources are *lazy*
    (:class:`ImageFiles`: decoded only when indexed) and ``advtrace.data`` writes the prepared splits
    to memory-mapped ``.npy`` files. There is no download (ImageNet needs an account at
    https://image-net.org); files under ``root`` (what torchvision's ImageNet class reads)::

        <root>/imagenet/ILSVRC2012_devkit_t12.tar.gz   the devkit (class list, validation labels)
        <root>/imagenet/ILSVRC2012_img_train.tar       training images (extracted to train/ on first use)
        <root>/imagenet/ILSVRC2012_img_val.tar         validation images (extracted to val/ on first use)

    or what torchvision extracts from them: ``<root>/imagenet/meta.bin``,
    ``train/<wnid>/*.JPEG`` and ``val/<wnid>/*.JPEG``.

Where files come from
---------------------
Existing files are always used first, without touching the network (torchvision is first called
with ``download=False``; official archives found in place are MD5-checked and extracted locally).
Only if that fails and ``download`` is true does torchvision download into ``root`` (the project
uses ``resources/datasets/``). Otherwise — or when the download fails, e.g. offline —
:class:`DatasetUnavailableError` says which dataset is missing, the exact directory, the files
or folders to put there, and that ``download: true`` on a machine with internet fetches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import dataset_files
from .dataset_files import (FASHION_MNIST_DEBIAN_PACKAGE, FASHION_MNIST_FILES, FASHION_MNIST_FOLDER,
                            FASHION_MNIST_GZ_MD5, FASHION_MNIST_URL, GTSRB_ARCHIVES, GTSRB_URL, IMAGENET_ARCHIVES,
                            IMAGENET_URL)
from .runtime import Progress, log

DATASETS = ("digits", "cifar10", "gtsrb", "imagenet", "fashion_mnist")

GTSRB_NUM_CLASSES = 43
GTSRB_DEFAULT_SIZE = 32
# The official archives torchvision's GTSRB.download() fetches into <root>/gtsrb/ (name, md5);
# kept in the torch-free dataset_files, which the Snakefile uses at parse time.
_GTSRB_URL = GTSRB_URL
_GTSRB_ARCHIVES = GTSRB_ARCHIVES


class DatasetUnavailableError(RuntimeError):
    """The dataset's files are not under the root (and could not be downloaded)."""


class ImageFiles:
    """Images on disk, decoded on indexing: ``files[idx]`` (an int64 index tensor) is a uint8
    ``len(idx)×3×size×size`` tensor, each image converted to RGB, its shorter side resized to `size`
    (bilinear, antialiased) and centre-cropped to size×size by torchvision's functional transforms.
    A lazy stand-in for the ``x`` tensor of a source too large for memory (ImageNet)."""

    def __init__(self, paths: list[str], size: int, workers: int = 8):
        self.paths = list(paths)
        self.size = int(size)
        self.workers = workers
        self.shape = (len(self.paths), 3, self.size, self.size)
        self.dtype = torch.uint8
        self.ndim = 4

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, path: str) -> np.ndarray:
        """One image, 3×size×size uint8."""
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        im = _open_image(path).convert("RGB")
        im = TF.center_crop(TF.resize(im, self.size, interpolation=InterpolationMode.BILINEAR, antialias=True),
                            [self.size, self.size])
        return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)

    def __getitem__(self, idx) -> torch.Tensor:
        from concurrent.futures import ThreadPoolExecutor

        idx = torch.as_tensor(idx, dtype=torch.int64).reshape(-1)
        out = np.empty((len(idx), 3, self.size, self.size), dtype=np.uint8)
        paths = [self.paths[int(i)] for i in idx]
        with ThreadPoolExecutor(max(1, min(self.workers, len(paths)))) as pool:  # PIL decodes without the GIL
            for j, im in enumerate(pool.map(self.read, paths)):
                out[j] = im
        return torch.from_numpy(out)


@dataclass
class RawDataset:
    name: str
    # official split -> (x uint8 N×C×H×W, or ImageFiles for sources too large for memory; y int64 N)
    sources: dict[str, tuple[torch.Tensor | ImageFiles, torch.Tensor]]
    num_classes: int
    in_channels: int
    image_size: int
    # official split -> int64 group id per image: images of one group show the same object
    # (GTSRB training set: one track of ~30 images of one physical sign, class·1000 + track);
    # dataset.split_by: track keeps each group within one experiment split
    groups: dict[str, torch.Tensor] = field(default_factory=dict)
    # a class subset (imagenet `classes`): label k is the dataset's class class_index[k], named class_names[k]
    class_index: list[int] | None = None
    class_names: list[str] | None = None

    def __post_init__(self) -> None:
        for src, (x, y) in self.sources.items():
            assert x.dtype == torch.uint8 and x.ndim == 4, (src, x.dtype, x.shape)
            assert x.shape[1:] == (self.in_channels, self.image_size, self.image_size), (src, x.shape)
            assert y.dtype == torch.int64 and y.shape == (x.shape[0],), (src, y.dtype, y.shape)


def load_raw(name: str, root: str | Path, download: bool, image_size: int | None = None,
             classes: list[str] | None = None) -> RawDataset:
    """Load every official split of dataset `name` as uint8 N×C×H×W images and int64 labels.

    ``classes`` (imagenet only): WordNet ids of a class subset; only their images are kept and
    labelled 0..len(classes)-1 in that order (paper 001 Sec. 4.2's 10-class ImageNet)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    if classes is not None and name != "imagenet":
        raise ValueError(f"{name}: a class subset (dataset.classes) is supported for imagenet only")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int)
                                   or image_size < 1):
        raise ValueError(f"{name}: image_size must be a positive integer or None, got {image_size!r}")
    root = Path(root).expanduser()
    if name == "digits":
        return _load_digits(image_size)
    if name == "cifar10":
        return _load_cifar10(root, download, image_size)
    if name == "imagenet":
        return _load_imagenet(root, download, image_size, classes)
    if name == "fashion_mnist":
        return _load_fashion_mnist(root, download, image_size)
    return _load_gtsrb(root, download, image_size)


# ---------------------------------------------------------------------------------------------
# digits


def _load_digits(image_size: int | None) -> RawDataset:
    if image_size not in (None, 8):
        raise ValueError(f"digits: image_size must be 8 (the images are 8x8), got {image_size}")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)  # (1797, 8, 8), values 0..16
    x = np.floor(images * 255.0 / 16.0 + 0.5).clip(0, 255).astype(np.uint8)[:, None]
    y = np.asarray(bunch.target, dtype=np.int64)
    log.info("digits: %d images 1x8x8 from scikit-learn", len(y))
    return RawDataset("digits", {"all": (torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y))},
                      num_classes=10, in_channels=1, image_size=8)


# ---------------------------------------------------------------------------------------------
# shared: local-first opening of a torchvision dataset


def _archive_ok(path: Path, md5: str) -> bool:
    """Whether an official archive is present and intact (MD5 as torchvision checks it)."""
    from torchvision.datasets.utils import check_integrity

    return check_integrity(str(path), md5)


def _extract_local(archives: list[tuple[Path, str]], into: Path) -> bool:
    """Extract official archives already on disk (no network). True if all were present and extracted."""
    from torchvision.datasets.utils import extract_archive

    if not archives or not all(p.is_file() for p, _ in archives):
        return False
    for path, md5 in archives:
        if not _archive_ok(path, md5):
            raise DatasetUnavailableError(f"{path} is corrupted or incomplete (MD5 is not {md5}); "
                                          f"delete it and put the official archive there")
        log.info("extracting %s into %s", path, into)
        extract_archive(str(path), str(into))
    return True


def _open(open_fn: Callable[[bool], object], archives: list[tuple[Path, str]], extract_into: Path,
          download: bool, help_fn: Callable[[str, bool], str]):
    """Open a torchvision dataset: existing files first, then official archives in place, then download.

    `help_fn(reason, download_failed)` writes the DatasetUnavailableError message."""
    errors = (RuntimeError, FileNotFoundError)
    try:
        return open_fn(False)
    except errors as e:
        missing = e
    try:
        if _extract_local(archives, extract_into):
            return open_fn(False)
    except DatasetUnavailableError as e:
        if not download:
            raise DatasetUnavailableError(help_fn(str(e), False)) from e
    except errors as e:
        missing = e
    if not download:
        detail = f": {missing}" if isinstance(missing, FileNotFoundError) else ""  # e.g. names a missing CSV
        raise DatasetUnavailableError(help_fn(f"not found, download=False{detail}", False)) from missing
    try:
        return open_fn(True)
    except Exception as e:  # URLError/OSError offline, RuntimeError on a bad checksum, bad archives ...
        raise DatasetUnavailableError(help_fn(f"download failed: {type(e).__name__}: {e}", True)) from e


def _download_hint(d: Path, download_failed: bool) -> str:
    if download_failed:
        return (f"The download (`dataset: download: true`) failed - no internet access here? Run the same "
                f"config on a machine with internet access and copy what it fetched into {d}, or put the "
                f"files above there by hand.")
    return (f"or set `dataset: download: true` in the experiment config and run on a machine with internet "
            f"access (torchvision then downloads it into {d}).")


# ---------------------------------------------------------------------------------------------
# CIFAR-10


def _cifar_help(root: Path, reason: str, download_failed: bool) -> str:
    from torchvision.datasets import CIFAR10

    d = root.resolve()
    files = CIFAR10.train_list + CIFAR10.test_list + [[CIFAR10.meta["filename"], CIFAR10.meta["md5"]]]
    found = ""
    if (d / CIFAR10.base_folder).is_dir():  # say exactly what is wrong with a partial folder
        missing = [f for f, _ in files if not (d / CIFAR10.base_folder / f).is_file()]
        corrupt = [f for f, m in files if f not in missing and not _archive_ok(d / CIFAR10.base_folder / f, m)]
        found = (f"{d / CIFAR10.base_folder} exists but" + (f" lacks {', '.join(missing)}" if missing else "")
                 + (" and" if missing and corrupt else "")
                 + (f" has wrong MD5 for {', '.join(corrupt)}" if corrupt else "") + ".\n")
    return (
        f"dataset 'cifar10' is not available in {d}" + (f" ({reason})" if reason else "") + ".\n" + found
        + f"Put there either the official archive\n"
        f"  {d / CIFAR10.filename}   ({CIFAR10.url}, md5 {CIFAR10.tgz_md5})\n"
        f"or its extracted folder\n"
        f"  {d / CIFAR10.base_folder}/  containing {', '.join(f for f, _ in files)}\n"
        + _download_hint(d, download_failed)
    )


def _load_cifar10(root: Path, download: bool, image_size: int | None) -> RawDataset:
    if image_size not in (None, 32):
        raise ValueError(f"cifar10: image_size must be 32 (the images are 32x32), got {image_size}")
    from torchvision.datasets import CIFAR10

    archives = [(root / CIFAR10.filename, CIFAR10.tgz_md5)]
    sources = {}
    for split in ("train", "test"):
        ds = _open(lambda dl, split=split: CIFAR10(str(root), train=split == "train", download=dl),
                   archives, root, download, lambda reason, failed: _cifar_help(root, reason, failed))
        data = np.asarray(ds.data, dtype=np.uint8)  # N×32×32×3 (HWC)
        x = torch.from_numpy(np.ascontiguousarray(data.transpose(0, 3, 1, 2)))
        y = torch.as_tensor(np.asarray(ds.targets, dtype=np.int64))
        sources[split] = (x, y)
        archives = []  # extracted (if at all) while opening the first split
    log.info("cifar10: %s from %s", {k: len(v[1]) for k, v in sources.items()}, root)
    return RawDataset("cifar10", sources, num_classes=10, in_channels=3, image_size=32)


# ---------------------------------------------------------------------------------------------
# GTSRB


def _gtsrb_help(root: Path, split: str, reason: str, download_failed: bool = False) -> str:
    d = (root / "gtsrb").resolve()
    zips = "".join(f"  {d / f}   ({_GTSRB_URL}{f}, md5 {md5})\n"
                   for s in ("train", "test") for f, md5 in _GTSRB_ARCHIVES[s])
    return (
        f"dataset 'gtsrb' ({split} split) is not available in {d}" + (f" ({reason})" if reason else "")
        + ".\nBoth splits are needed. Put there either the extracted layout torchvision expects\n"
        + f"  {d}/GTSRB/Training/00000/*.ppm … {d}/GTSRB/Training/00042/*.ppm   (all 43 class folders)\n"
        + f"  {d}/GTSRB/Final_Test/Images/*.ppm\n"
        + f"  {d}/GT-final_test.csv   (';'-separated: Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId)\n"
        + "or the official archives, extracted there on first use\n" + zips
        + _download_hint(d, download_failed)
    )


def _read_images(n: int, get: Callable, size: int, desc: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack `get(i) -> (PIL image, label)` for i < n, RGB, resized bilinearly to size×size."""
    from PIL import Image

    x = np.empty((n, size, size, 3), dtype=np.uint8)
    y = np.empty(n, dtype=np.int64)
    progress = Progress(n, desc, unit="img", every=5.0)
    for i in range(n):
        im, label = get(i)
        im = im.convert("RGB")
        if im.size != (size, size):
            im = im.resize((size, size), Image.Resampling.BILINEAR)
        x[i] = np.asarray(im, dtype=np.uint8)
        y[i] = label
        progress.update()
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), torch.from_numpy(y)


def _open_image(path: str):
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        return im


def _gtsrb_samples(ds, root: Path, split: str) -> list[tuple[str, int]] | None:
    """torchvision's (path, label) list, checked; None if this torchvision has no `_samples`."""
    samples = getattr(ds, "_samples", None)
    if samples is None:
        return None
    samples = [(str(p), int(t)) for p, t in samples]
    if split == "train":
        # torchvision labels train images by the index of their folder among the sorted class folders;
        # that equals the official class id only when all 43 folders 00000..00042 are there.
        base = root / "gtsrb" / "GTSRB" / "Training"
        for path, label in samples:
            folder = Path(path).relative_to(base).parts[0]
            if folder != f"{label:05d}":
                raise DatasetUnavailableError(_gtsrb_help(
                    root, split, f"class folder {folder!r} got label {label}: the class folders must be "
                                 f"exactly 00000..{GTSRB_NUM_CLASSES - 1:05d}"))
    bad = [t for _, t in samples if not 0 <= t < GTSRB_NUM_CLASSES]
    if bad:
        raise DatasetUnavailableError(_gtsrb_help(root, split, f"labels outside 0..42, e.g. {bad[0]}"))
    if not samples:
        raise DatasetUnavailableError(_gtsrb_help(root, split, "no images"))
    return samples


def _load_gtsrb(root: Path, download: bool, image_size: int | None) -> RawDataset:
    from torchvision.datasets import GTSRB

    size = GTSRB_DEFAULT_SIZE if image_size is None else image_size
    base = root / "gtsrb"
    sources, groups = {}, {}
    for split in ("train", "test"):
        archives = [(base / f, md5) for f, md5 in _GTSRB_ARCHIVES[split]]
        # extract only the archives whose content is missing (e.g. just the test CSV)
        if split == "test":
            have = {"GTSRB_Final_Test_Images.zip": (base / "GTSRB" / "Final_Test" / "Images").is_dir(),
                    "GTSRB_Final_Test_GT.zip": (base / "GT-final_test.csv").is_file()}
            archives = [(p, m) for p, m in archives if not have[p.name]]
        ds = _open(lambda dl, split=split: GTSRB(str(root), split=split, download=dl),
                   archives, base, download,
                   lambda reason, failed, split=split: _gtsrb_help(root, split, reason, failed))
        samples = _gtsrb_samples(ds, root, split)
        n = len(samples) if samples is not None else len(ds)
        log.info("gtsrb %s: reading %d images from %s, resizing to %dx%d", split, n, base, size, size)
        if samples is not None:  # direct PIL reads, no per-item dataset overhead
            get = lambda i, s=samples: (_open_image(s[i][0]), s[i][1])  # noqa: E731
        else:  # public API fallback (a torchvision without the private list)
            get = ds.__getitem__
        sources[split] = _read_images(n, get, size, f"gtsrb {split}")
        if split == "train" and samples is not None:
            groups["train"] = gtsrb_tracks([p for p, _ in samples], [t for _, t in samples])
    return RawDataset("gtsrb", sources, num_classes=GTSRB_NUM_CLASSES, in_channels=3, image_size=size, groups=groups)


def gtsrb_tracks(paths: list[str], labels: list[int]) -> torch.Tensor:
    """Track ids of GTSRB training images: the file name ``<track>_<image>.ppm`` (5 digits each)
    within the class folder; returned as class·1000 + track (one id per physical sign)."""
    out = []
    for path, label in zip(paths, labels):
        stem = Path(path).stem
        track, sep, _ = stem.partition("_")
        if not sep or not track.isdigit():
            raise DatasetUnavailableError(f"GTSRB training image {path}: the file name is not <track>_<image>.ppm, "
                                          "so images cannot be grouped by track (dataset.split_by: track)")
        out.append(int(label) * 1000 + int(track))
    return torch.tensor(out, dtype=torch.int64)


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST

FASHION_MNIST_SIZE = 28


def _idx_ok(path: Path, md5: str) -> bool:
    """Whether an uncompressed idx file is present and is the official one (MD5 of its content)."""
    return _archive_ok(path, md5)


def _fashion_help(root: Path, reason: str, download_failed: bool = False) -> str:
    d = (root / FASHION_MNIST_FOLDER).resolve()
    system = Path(dataset_files.FASHION_MNIST_SYSTEM_DIR)
    names = [n for n, _ in FASHION_MNIST_FILES]
    return (
        f"dataset 'fashion_mnist' is not available in {d}" + (f" ({reason})" if reason else "") + ".\n"
        + f"Install Debian's package, whose four .gz files ({system}/) are decompressed into {d} on first use:\n"
        + f"  apt-get install {FASHION_MNIST_DEBIAN_PACKAGE}\n"
        + "or put there the four official archives (decompressed there on first use)\n"
        + "".join(f"  {d / n}.gz   ({FASHION_MNIST_URL}{n}.gz, md5 {FASHION_MNIST_GZ_MD5[n + '.gz']})\n" for n in names)
        + f"or their uncompressed idx files (what torchvision's FashionMNIST reads): {', '.join(names)}\n"
        + _download_hint(d, download_failed)
    )


def _gunzip_verified(src: Path, dst: Path, md5: str) -> str | None:
    """Decompress `src` (.gz) into `dst` if its content has MD5 `md5` (atomic: a temp file in dst's
    folder, renamed; concurrent jobs each write a complete file). None on success, else the problem."""
    import gzip
    import os
    import shutil
    import tempfile

    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(src, "rb") as f:
            shutil.copyfileobj(f, out, 1 << 20)
        if not _idx_ok(Path(tmp), md5):
            return f"{src} does not decompress to the official {dst.name} (MD5 is not {md5})"
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
        return None
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        return f"{src} cannot be decompressed into {dst.parent} ({type(e).__name__}: {e})"
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _stage_fashion_mnist(root: Path) -> tuple[list[str], list[str]]:
    """Make <root>/FashionMNIST/raw/ hold the four official uncompressed idx files from what is on
    disk (no network): each missing or corrupt one from Debian's package, else from a .gz beside it.
    Returns (names still missing, problems: corrupt files and sources that failed); both empty when
    all four are in place and verified."""
    raw = root / FASHION_MNIST_FOLDER
    system = Path(dataset_files.FASHION_MNIST_SYSTEM_DIR)
    missing, problems = [], []
    for name, md5 in FASHION_MNIST_FILES:
        target = raw / name
        if target.is_file() and _idx_ok(target, md5):
            continue
        failed = [f"{target} is corrupt (MD5 is not {md5})"] if target.is_file() else []
        sources = [src for src in (system / f"{name}.gz", raw / f"{name}.gz") if src.is_file()]
        for src in sources:
            problem = _gunzip_verified(src, target, md5)
            if problem is None:
                log.info("fashion_mnist: %s decompressed from %s", target, src)
                failed = None
                break
            failed.append(problem)
        if failed is None:
            continue
        if not failed:
            missing.append(name)
        problems += failed
    return missing, problems


def _load_fashion_mnist(root: Path, download: bool, image_size: int | None) -> RawDataset:
    if image_size not in (None, FASHION_MNIST_SIZE):
        raise ValueError(f"fashion_mnist: image_size must be 28 (the images are 28x28), got {image_size}")
    from torchvision.datasets import FashionMNIST

    missing, problems = _stage_fashion_mnist(root)
    if problems:  # corrupt files, or local sources that are not the official files
        fix = "; delete the corrupt files and run again" if any("MD5" in p for p in problems) else ""
        raise DatasetUnavailableError(_fashion_help(root, "; ".join(problems) + fix))
    if missing and download:
        try:  # torchvision downloads the official archives, checks their MD5s and decompresses them into raw/
            FashionMNIST(str(root), train=True, download=True)
        except Exception as e:  # URLError/OSError offline, RuntimeError on a bad checksum ...
            raise DatasetUnavailableError(_fashion_help(root, f"download failed: {type(e).__name__}: {e}",
                                                        True)) from e
        missing, problems = _stage_fashion_mnist(root)  # verifies what was downloaded
        if problems:
            raise DatasetUnavailableError(_fashion_help(root, "; ".join(problems), True))
    if missing:
        raise DatasetUnavailableError(_fashion_help(root, f"{', '.join(missing)} not found, download=False"))
    sources = {}
    for split in ("train", "test"):
        ds = FashionMNIST(str(root), train=split == "train", download=False)
        x = torch.as_tensor(ds.data, dtype=torch.uint8)[:, None].contiguous()  # N×1×28×28
        y = torch.as_tensor(ds.targets, dtype=torch.int64)
        sources[split] = (x, y)
    log.info("fashion_mnist: %s from %s", {k: len(v[1]) for k, v in sources.items()}, root / FASHION_MNIST_FOLDER)
    return RawDataset("fashion_mnist", sources, num_classes=10, in_channels=1, image_size=FASHION_MNIST_SIZE)


# ---------------------------------------------------------------------------------------------
# ImageNet


IMAGENET_NUM_CLASSES = 1000
IMAGENET_DEFAULT_SIZE = 299  # Inception v3's input (Szegedy et al. 2015; paper 002)


def _imagenet_help(root: Path, split: str, reason: str) -> str:
    d = (root / "imagenet").resolve()
    archives = "".join(f"  {d / f}   (md5 {md5})\n" for f, md5 in IMAGENET_ARCHIVES.values())
    return (
        f"dataset 'imagenet' ({split} split) is not available in {d}" + (f" ({reason})" if reason else "")
        + ".\nImageNet cannot be downloaded automatically: it needs an account at image-net.org "
        + f"({IMAGENET_URL}, 'ILSVRC2012' downloads). Put there the official archives (torchvision extracts "
        + "them on first use; `dataset: download` has no effect)\n" + archives
        + f"or what torchvision extracts from them: {d}/meta.bin, {d}/train/<wnid>/*.JPEG (1000 class folders) "
        + f"and {d}/val/<wnid>/*.JPEG."
    )


def _imagenet_subset(ds, classes: list[str], root: Path, split: str) -> tuple[list[int], list[str]]:
    """(class index among the 1000, name) of each WordNet id of `classes`, as torchvision's ImageNet
    numbers them (the index of the wnid among the sorted class folders, as pretrained models do)."""
    unknown = [w for w in classes if w not in ds.wnid_to_idx]
    if unknown:
        raise DatasetUnavailableError(_imagenet_help(root, split, f"dataset.classes names {unknown}, which are not "
                                                                  "ILSVRC2012 classes (WordNet ids such as n02123394)"))
    if len(set(classes)) != len(classes):
        raise ValueError(f"dataset.classes: {classes} repeats a class")
    index = [int(ds.wnid_to_idx[w]) for w in classes]
    return index, [str(ds.classes[i][0]) for i in index]


def _load_imagenet(root: Path, download: bool, image_size: int | None,
                   classes: list[str] | None = None) -> RawDataset:
    from torchvision.datasets import ImageNet

    size = IMAGENET_DEFAULT_SIZE if image_size is None else image_size
    base = root / "imagenet"
    if download:
        log.warning("imagenet: `dataset: download` is ignored: ImageNet has no public download (image-net.org)")
    if not base.is_dir():
        raise DatasetUnavailableError(_imagenet_help(root, "train", f"{base.resolve()} does not exist"))
    sources = {}
    for split in ("train", "val"):
        try:  # torchvision checks the archives' MD5 and extracts them into base/train, base/val on first use
            ds = ImageNet(str(base), split=split)
        except (RuntimeError, FileNotFoundError) as e:
            raise DatasetUnavailableError(_imagenet_help(root, split, f"{type(e).__name__}: {e}")) from e
        samples = [(str(p), int(t)) for p, t in ds.samples]
        if not samples:
            raise DatasetUnavailableError(_imagenet_help(root, split, "no images"))
        bad = [t for _, t in samples if not 0 <= t < IMAGENET_NUM_CLASSES]
        if bad:
            raise DatasetUnavailableError(_imagenet_help(root, split, f"labels outside 0..999, e.g. {bad[0]}"))
        n_classes = len(ds.wnids)
        if classes is not None:  # the subset, relabelled 0..k-1 in the order of `classes`
            index, names = _imagenet_subset(ds, classes, root, split)
            label = {orig: k for k, orig in enumerate(index)}
            samples = [(p, label[t]) for p, t in samples if t in label]
            n_classes = len(classes)
            if not samples:
                raise DatasetUnavailableError(_imagenet_help(root, split, f"no images of the classes {classes}"))
        log.info("imagenet %s: %d images in %d classes under %s (decoded lazily, %dx%d)", split, len(samples),
                 n_classes, base, size, size)
        sources[split] = (ImageFiles([p for p, _ in samples], size),
                          torch.tensor([t for _, t in samples], dtype=torch.int64))
    if classes is not None:
        return RawDataset("imagenet", sources, num_classes=len(classes), in_channels=3, image_size=size,
                          class_index=index, class_names=names)
    return RawDataset("imagenet", sources, num_classes=IMAGENET_NUM_CLASSES, in_channels=3, image_size=size)


__all__ = ["DATASETS", "DatasetUnavailableError", "ImageFiles", "RawDataset", "load_raw"]
