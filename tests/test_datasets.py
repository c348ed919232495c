"""advtrace.datasets: real torchvision readers on tiny datasets fabricated in the official on-disk formats."""

from __future__ import annotations

import csv
import os
import pickle
import pickletools
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from advtrace import datasets
from advtrace.datasets import DATASETS, DatasetUnavailableError, RawDataset, load_raw

tv_cifar = pytest.importorskip("torchvision.datasets.cifar")
tv_utils = pytest.importorskip("torchvision.datasets.utils")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any download attempt fails the test (all of these must work offline, from local files)."""

    def fail(*a, **k):
        raise AssertionError(f"network access attempted: {a[:1]}")

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    monkeypatch.setattr(tv_utils, "_urlretrieve", fail)
    monkeypatch.setattr(tv_utils, "download_url", fail)


# --------------------------------------------------------------------------------------------
# CIFAR-10 (python pickle batches)

CIFAR_SIZES = {"data_batch_1": 3, "data_batch_2": 2, "data_batch_3": 2, "data_batch_4": 1, "data_batch_5": 2,
               "test_batch": 4}


def cifar_pixel(global_i: int, c: int, h: int, w: int) -> int:
    """A pattern that distinguishes image, channel, row and column."""
    return (global_i * 37 + c * 101 + h * 7 + w * 3) % 256


def py2_pickle(d: dict) -> bytes:
    """A protocol-2 dict pickle whose keys are Python-2 ``str`` (SHORT_BINSTRING), as in the official
    CIFAR files: ``pickle.load(f, encoding="bytes")`` gives b"data", torchvision's ``encoding="latin1"``
    gives "data"."""
    out = [pickle.PROTO + b"\x02", pickle.EMPTY_DICT, pickle.MARK]
    for key, value in d.items():
        k = key.encode("latin1")
        out.append(pickle.SHORT_BINSTRING + bytes([len(k)]) + k)
        body = pickletools.optimize(pickle.dumps(value, protocol=2))
        assert body[:2] == b"\x80\x02" and body[-1:] == pickle.STOP
        out.append(body[2:-1])  # memo slots reused per value: each value only reads its own
    out += [pickle.SETITEMS, pickle.STOP]
    return b"".join(out)


def write_cifar(root: Path) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Write cifar-10-batches-py/ in the official pickle format; returns the expected (N,3,32,32) arrays."""
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    expected: dict[str, tuple[list, list]] = {"train": ([], []), "test": ([], [])}
    i = 0
    for fname, n in CIFAR_SIZES.items():
        split = "test" if fname == "test_batch" else "train"
        imgs = np.empty((n, 3, 32, 32), dtype=np.uint8)
        labels = []
        for k in range(n):
            c, h, w = np.meshgrid(np.arange(3), np.arange(32), np.arange(32), indexing="ij")
            imgs[k] = cifar_pixel(i, c, h, w)
            labels.append((i * 3) % 10)
            i += 1
        # official layout: row k = 3072 bytes, R plane (1024, row-major) then G then B
        flat = imgs.reshape(n, 3072)
        (d / fname).write_bytes(py2_pickle({"batch_label": fname, "labels": labels, "data": flat,
                                            "filenames": [f"img{j}.png" for j in range(n)]}))
        expected[split][0].append(imgs)
        expected[split][1].extend(labels)
    (d / "batches.meta").write_bytes(py2_pickle({"label_names": [f"class{j}" for j in range(10)],
                                                 "num_cases_per_batch": 3, "num_vis": 3072}))
    return {s: (np.concatenate(x), y) for s, (x, y) in expected.items()}


def test_fabricated_cifar_pickle_format(tmp_path):
    """The fabricated batch reads like the official one with the CIFAR website's own snippet."""
    expected = write_cifar(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "rb") as f:
        entry = pickle.load(f, encoding="bytes")
    assert {b"data", b"labels", b"batch_label", b"filenames"} <= set(entry)
    assert entry[b"data"].dtype == np.uint8 and entry[b"data"].shape == (4, 3072)
    assert entry[b"data"][1, 1024 + 32 * 2 + 5] == cifar_pixel(11, 1, 2, 5)  # G plane, row 2, col 5
    assert entry[b"labels"] == expected["test"][1]


@pytest.fixture
def skip_cifar_md5(monkeypatch):
    """Fabricated files cannot match the official MD5s: integrity = presence. All else is real."""
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))


def test_cifar10_roundtrip(tmp_path, skip_cifar_md5):
    expected = write_cifar(tmp_path)
    raw = load_raw("cifar10", tmp_path, download=False)
    assert isinstance(raw, RawDataset)
    assert (raw.name, raw.num_classes, raw.in_channels, raw.image_size) == ("cifar10", 10, 3, 32)
    assert list(raw.sources) == ["train", "test"]
    for split, n in (("train", 10), ("test", 4)):
        x, y = raw.sources[split]
        assert x.dtype == torch.uint8 and x.shape == (n, 3, 32, 32) and x.is_contiguous()
        assert y.dtype == torch.int64 and y.shape == (n,)
        np.testing.assert_array_equal(x.numpy(), expected[split][0])
        assert y.tolist() == expected[split][1]
    # spot-check positions explicitly: train image 4 (2nd of data_batch_2), channel B, row 5, col 30
    x = raw.sources["train"][0]
    assert int(x[4, 2, 5, 30]) == cifar_pixel(4, 2, 5, 30)
    assert int(x[0, 1, 31, 0]) == cifar_pixel(0, 1, 31, 0)
    assert int(raw.sources["test"][0][3, 0, 0, 31]) == cifar_pixel(13, 0, 0, 31)
    assert load_raw("cifar10", str(tmp_path), download=False, image_size=32).sources["test"][1].tolist() \
        == expected["test"][1]


def test_cifar10_from_archive_in_place(tmp_path, skip_cifar_md5, monkeypatch):
    """Only <root>/cifar-10-python.tar.gz present: extracted locally, no network even with download=False."""
    src = tmp_path / "src"
    expected = write_cifar(src)
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(datasets, "_archive_ok", lambda path, md5: Path(path).is_file())
    raw = load_raw("cifar10", root, download=False)
    assert (root / "cifar-10-batches-py" / "test_batch").is_file()
    np.testing.assert_array_equal(raw.sources["train"][0].numpy(), expected["train"][0])


def test_cifar10_missing(tmp_path):
    with pytest.raises(DatasetUnavailableError) as e:
        load_raw("cifar10", tmp_path / "nowhere", download=False)
    msg = str(e.value)
    d = (tmp_path / "nowhere").resolve()
    assert "cifar10" in msg and str(d) in msg
    assert str(d / "cifar-10-python.tar.gz") in msg and str(d / "cifar-10-batches-py") in msg
    assert "download: true" in msg


def test_cifar10_partial_folder_names_missing_file(tmp_path, skip_cifar_md5):
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetUnavailableError, match="lacks data_batch_3"):
        load_raw("cifar10", tmp_path, download=False)


def test_cifar10_bad_image_size(tmp_path):
    with pytest.raises(ValueError, match="32"):
        load_raw("cifar10", tmp_path, download=False, image_size=64)


# --------------------------------------------------------------------------------------------
# GTSRB (PPM folders + semicolon CSV)

TEST_SIZES = [(30, 41), (64, 64), (15, 17), (250, 200)]  # (w, h)
TEST_LABELS = [42, 0, 17, 5]


def colour(label: int, k: int) -> tuple[int, int, int]:
    return (label * 5 + k) % 256, (label * 3 + 100) % 256, (255 - label * 4) % 256


def write_gtsrb(root: Path, per_class: dict[int, int] | None = None) -> dict[str, list[int]]:
    """GTSRB/Training/<5-digit class>/*.ppm (+ the per-class GT csv the real archive has), and
    GTSRB/Final_Test/Images/*.ppm with gtsrb/GT-final_test.csv. Solid colours encode the label."""
    base = root / "gtsrb"
    per_class = per_class or {c: (2 if c in (0, 7) else 1) for c in range(43)}
    train_labels = []
    for c in range(43):
        d = base / "GTSRB" / "Training" / f"{c:05d}"
        d.mkdir(parents=True)
        for k in range(per_class.get(c, 0)):
            w, h = 20 + 7 * k + c % 5, 25 + c % 11
            Image.new("RGB", (w, h), colour(c, k)).save(d / f"00000_{k:05d}.ppm")
            train_labels.append(c)
        (d / f"GT-{c:05d}.csv").write_text("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n")
    test_dir = base / "GTSRB" / "Final_Test" / "Images"
    test_dir.mkdir(parents=True)
    with open(base / "GT-final_test.csv", "w", newline="") as f:
        wr = csv.writer(f, delimiter=";")
        wr.writerow(["Filename", "Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"])
        for i, ((w, h), label) in enumerate(zip(TEST_SIZES, TEST_LABELS)):
            name = f"{i:05d}.ppm"
            Image.new("RGB", (w, h), colour(label, 0)).save(test_dir / name)
            wr.writerow([name, w, h, 5, 5, w - 5, h - 5, label])
    return {"train": train_labels, "test": TEST_LABELS}


def test_gtsrb_roundtrip(tmp_path, caplog):
    labels = write_gtsrb(tmp_path)
    with caplog.at_level("INFO", logger="advtrace"):
        raw = load_raw("gtsrb", tmp_path, download=False)
    assert (raw.name, raw.num_classes, raw.in_channels, raw.image_size) == ("gtsrb", 43, 3, 32)
    assert list(raw.sources) == ["train", "test"]
    for split in ("train", "test"):
        x, y = raw.sources[split]
        assert x.dtype == torch.uint8 and x.shape == (len(labels[split]), 3, 32, 32)
        assert y.dtype == torch.int64 and y.tolist() == labels[split]
    # solid-colour images stay exactly that colour after bilinear resizing: the right image got the right label
    x, y = raw.sources["test"]
    for i, label in enumerate(TEST_LABELS):
        assert (x[i] == torch.tensor(colour(label, 0), dtype=torch.uint8)[:, None, None]).all()
    x, y = raw.sources["train"]
    first7 = y.tolist().index(7)
    assert (x[first7 + 1] == torch.tensor(colour(7, 1), dtype=torch.uint8)[:, None, None]).all()
    assert any("gtsrb train" in r.getMessage() and "img/s" in r.getMessage() for r in caplog.records)


def test_gtsrb_resize_pixels_and_size(tmp_path):
    write_gtsrb(tmp_path)
    # a non-uniform test image: compare with PIL's bilinear resize directly
    img = Image.new("RGB", (30, 41))
    img.putdata([((3 * i) % 256, (7 * i) % 256, i % 256) for i in range(30 * 41)])
    img.save(tmp_path / "gtsrb" / "GTSRB" / "Final_Test" / "Images" / "00000.ppm")
    raw = load_raw("gtsrb", tmp_path, download=False, image_size=16)
    assert raw.image_size == 16 and raw.sources["train"][0].shape[1:] == (3, 16, 16)
    want = np.asarray(img.resize((16, 16), Image.Resampling.BILINEAR)).transpose(2, 0, 1)
    np.testing.assert_array_equal(raw.sources["test"][0][0].numpy(), want)


def test_gtsrb_from_zips_in_place(tmp_path, monkeypatch):
    """Only the three official zips in <root>/gtsrb/: extracted locally (archive layout = torchvision's)."""
    src = tmp_path / "src"
    labels = write_gtsrb(src)
    base = tmp_path / "root" / "gtsrb"
    base.mkdir(parents=True)
    s = src / "gtsrb"
    for zname, members in (("GTSRB-Training_fixed.zip", sorted((s / "GTSRB" / "Training").rglob("*"))),
                           ("GTSRB_Final_Test_Images.zip", sorted((s / "GTSRB" / "Final_Test").rglob("*"))),
                           ("GTSRB_Final_Test_GT.zip", [s / "GT-final_test.csv"])):
        with zipfile.ZipFile(base / zname, "w") as z:
            for m in members:
                z.write(m, m.relative_to(s).as_posix())
    monkeypatch.setattr(datasets, "_archive_ok", lambda path, md5: Path(path).is_file())
    raw = load_raw("gtsrb", tmp_path / "root", download=False)
    assert raw.sources["train"][1].tolist() == labels["train"]
    assert raw.sources["test"][1].tolist() == labels["test"]


def test_gtsrb_missing(tmp_path):
    with pytest.raises(DatasetUnavailableError) as e:
        load_raw("gtsrb", tmp_path, download=False)
    msg = str(e.value)
    d = (tmp_path / "gtsrb").resolve()
    assert "gtsrb" in msg and str(d) in msg
    assert "GTSRB/Training/00000" in msg and "GTSRB-Training_fixed.zip" in msg and "download: true" in msg


def test_gtsrb_test_csv_missing(tmp_path):
    write_gtsrb(tmp_path)
    (tmp_path / "gtsrb" / "GT-final_test.csv").unlink()
    with pytest.raises(DatasetUnavailableError) as e:
        load_raw("gtsrb", tmp_path, download=False)
    assert "GT-final_test.csv" in str(e.value) and "GTSRB_Final_Test_GT.zip" in str(e.value)


def test_gtsrb_incomplete_class_folders(tmp_path):
    """Missing class folders would silently shift torchvision's folder-index labels: refused."""
    write_gtsrb(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "gtsrb" / "GTSRB" / "Training" / "00003")
    with pytest.raises(DatasetUnavailableError, match="00000..00042"):
        load_raw("gtsrb", tmp_path, download=False)


# --------------------------------------------------------------------------------------------
# digits and argument checks


def test_digits():
    raw = load_raw("digits", "unused", download=False)
    assert (raw.name, raw.num_classes, raw.in_channels, raw.image_size) == ("digits", 10, 1, 8)
    assert list(raw.sources) == ["all"]
    x, y = raw.sources["all"]
    assert x.dtype == torch.uint8 and x.shape == (1797, 1, 8, 8)
    assert y.dtype == torch.int64 and sorted(set(y.tolist())) == list(range(10))
    assert int(x.min()) == 0 and int(x.max()) == 255
    from sklearn.datasets import load_digits

    v = load_digits().images
    np.testing.assert_array_equal(x[:, 0].numpy(), np.floor(v * 255 / 16 + 0.5).astype(np.uint8))
    assert set(np.unique(x.numpy())) == {round(k * 255 / 16 + 1e-9) for k in range(17)}
    x2, y2 = load_raw("digits", "unused", download=True, image_size=8).sources["all"]
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_digits_bad_image_size():
    with pytest.raises(ValueError, match="8"):
        load_raw("digits", "unused", download=False, image_size=16)


def test_unknown_name():
    with pytest.raises(ValueError) as e:
        load_raw("mnist", "x", download=False)
    for name in DATASETS:
        assert name in str(e.value)


# --------------------------------------------------------------------------------------------
# Fashion-MNIST (idx files, gzip-compressed as the official archives and Debian's package ship them)

tv_mnist = pytest.importorskip("torchvision.datasets.mnist")
FASHION_NAMES = [n for n, _ in datasets.FASHION_MNIST_FILES]
FASHION_FAKE_SIZES = {"train": 12, "t10k": 5}


def idx_bytes(arr: np.ndarray) -> bytes:
    """The idx format (LeCun's MNIST page): magic 0x00 0x00 0x08 (unsigned byte) <ndim>, each
    dimension as a big-endian uint32, then the data in row-major order."""
    import struct

    assert arr.dtype == np.uint8
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def fake_fashion(folder: Path, *, compress: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four Fashion-MNIST files with a few distinct images each; returns {split: (N×28×28, labels)}."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in FASHION_FAKE_SIZES.items():
        i, h, w = np.meshgrid(np.arange(n), np.arange(28), np.arange(28), indexing="ij")
        offset = 0 if prefix == "train" else 100
        images = ((i + offset) * 31 + h * 5 + w * 3) % 256
        labels = (np.arange(n) * 7 + offset) % 10
        for kind, arr in (("images-idx3", images.astype(np.uint8)), ("labels-idx1", labels.astype(np.uint8))):
            data = idx_bytes(arr)
            name = f"{prefix}-{kind}-ubyte"
            if compress:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
            else:
                (folder / name).write_bytes(data)
        out["train" if prefix == "train" else "test"] = (images.astype(np.uint8), labels.astype(np.int64))
    return out


@pytest.fixture
def fake_fashion_md5(tmp_path, monkeypatch):
    """Point the loader's MD5 table at the fakes' content (the check itself stays real) and Debian's
    folder at an empty temp folder; returns that folder."""
    import hashlib

    fake_fashion(tmp_path / "reference", compress=False)
    table = [(n, hashlib.md5((tmp_path / "reference" / n).read_bytes()).hexdigest()) for n in FASHION_NAMES]
    monkeypatch.setattr(datasets, "FASHION_MNIST_FILES", table)
    system = tmp_path / "usr-share-datasets-fashion-mnist"
    system.mkdir()
    monkeypatch.setattr(datasets.dataset_files, "FASHION_MNIST_SYSTEM_DIR", str(system))
    return system


def check_fake(raw: RawDataset, expected: dict) -> None:
    assert (raw.name, raw.num_classes, raw.in_channels, raw.image_size) == ("fashion_mnist", 10, 1, 28)
    assert list(raw.sources) == ["train", "test"]
    for split, (images, labels) in expected.items():
        x, y = raw.sources[split]
        assert x.dtype == torch.uint8 and x.shape == (len(labels), 1, 28, 28) and x.is_contiguous()
        np.testing.assert_array_equal(x[:, 0].numpy(), images)
        assert y.dtype == torch.int64 and y.tolist() == labels.tolist()
    assert int(raw.sources["train"][0][3, 0, 27, 1]) == (3 * 31 + 27 * 5 + 1 * 3) % 256  # image 3, row 27, column 1


def test_fashion_mnist_from_debian_package_folder(tmp_path, fake_fashion_md5):
    """Debian's .gz files (a read-only system folder) are decompressed into root in torchvision's
    layout and read by torchvision's own FashionMNIST; later loads need only root."""
    expected = fake_fashion(fake_fashion_md5)
    for f in fake_fashion_md5.iterdir():
        f.chmod(0o444)
    root = tmp_path / "root"
    check_fake(load_raw("fashion_mnist", root, download=False), expected)
    raw_dir = root / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw_dir.iterdir()) == sorted(FASHION_NAMES)  # no temp files left
    # torchvision reads the same files directly
    ds = tv_mnist.FashionMNIST(str(root), train=False)
    np.testing.assert_array_equal(ds.data.numpy(), expected["test"][0])
    for f in fake_fashion_md5.iterdir():
        f.chmod(0o644)
        f.unlink()
    check_fake(load_raw("fashion_mnist", root, download=False, image_size=28), expected)


def test_fashion_mnist_from_archives_under_root(tmp_path, fake_fashion_md5):
    """The official .gz files in <root>/FashionMNIST/raw/ (where torchvision's download leaves them)."""
    root = tmp_path / "root"
    expected = fake_fashion(root / "FashionMNIST" / "raw")
    check_fake(load_raw("fashion_mnist", root, download=False), expected)
    assert all((root / "FashionMNIST" / "raw" / n).is_file() for n in FASHION_NAMES)


def test_fashion_mnist_uncompressed_under_root(tmp_path, fake_fashion_md5):
    root = tmp_path / "root"
    expected = fake_fashion(root / "FashionMNIST" / "raw", compress=False)
    check_fake(load_raw("fashion_mnist", root, download=False), expected)


def test_fashion_mnist_corrupt_file_replaced_from_the_package(tmp_path, fake_fashion_md5):
    expected = fake_fashion(fake_fashion_md5)
    root = tmp_path / "root"
    load_raw("fashion_mnist", root, download=False)
    target = root / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte"
    target.write_bytes(target.read_bytes()[:-1] + b"\x09")  # one wrong label
    check_fake(load_raw("fashion_mnist", root, download=False), expected)


def test_fashion_mnist_wrong_content_named(tmp_path, fake_fashion_md5):
    """A .gz whose content is not the official file (MD5 of the decompressed bytes) is named, not read."""
    import gzip

    fake_fashion(fake_fashion_md5)
    bad = fake_fashion_md5 / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(gzip.decompress(bad.read_bytes())[:-1] + b"\x03"))
    with pytest.raises(DatasetUnavailableError) as e:
        load_raw("fashion_mnist", tmp_path / "root", download=False)
    assert str(bad) in str(e.value) and "MD5" in str(e.value)
    assert not (tmp_path / "root" / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte").exists()


def test_fashion_mnist_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.dataset_files, "FASHION_MNIST_SYSTEM_DIR", str(tmp_path / "no-package"))
    with pytest.raises(DatasetUnavailableError) as e:
        load_raw("fashion_mnist", tmp_path / "nowhere", download=False)
    msg = str(e.value)
    d = (tmp_path / "nowhere" / "FashionMNIST" / "raw").resolve()
    assert "fashion_mnist" in msg and str(d) in msg
    assert "apt-get install dataset-fashion-mnist" in msg and str(tmp_path / "no-package") in msg
    for name in FASHION_NAMES:
        assert str(d / f"{name}.gz") in msg and name in msg
    assert "8d4fb7e6c68d591d4c3dfef9ec88bf0d" in msg  # the official archive's MD5
    assert "download: true" in msg
    # the parse-time note (torch-free) says the same
    from advtrace.dataset_files import dataset_notes, dataset_present

    assert not dataset_present("fashion_mnist", tmp_path / "nowhere")
    exp = {"dataset": {"name": "fashion_mnist", "root": str(tmp_path / "nowhere"), "download": False}}
    (note,) = dataset_notes({"f": exp}, ["f"], results=tmp_path / "results")
    assert "apt-get install dataset-fashion-mnist" in note and str(d / "train-images-idx3-ubyte.gz") in note


def test_fashion_mnist_download_fails_offline(tmp_path, monkeypatch):
    """download: true goes through torchvision's FashionMNIST download (blocked here: no network)."""
    monkeypatch.setattr(datasets.dataset_files, "FASHION_MNIST_SYSTEM_DIR", str(tmp_path / "no-package"))
    with pytest.raises(DatasetUnavailableError) as e:
        load_raw("fashion_mnist", tmp_path / "root", download=True)
    assert "download failed" in str(e.value) and "apt-get install dataset-fashion-mnist" in str(e.value)


def test_fashion_mnist_download_true_uses_torchvision(tmp_path, fake_fashion_md5, monkeypatch):
    """With nothing local, torchvision's own download (here served from a local folder) fetches and
    decompresses the archives; the loader then checks the content's MD5s."""
    server = tmp_path / "server"
    expected = fake_fashion(server)
    fetched = []

    def fake_download_and_extract(url, download_root, filename=None, md5=None, **kw):
        fetched.append(url)
        name = filename or url.rsplit("/", 1)[-1]
        Path(download_root).mkdir(parents=True, exist_ok=True)
        (Path(download_root) / name).write_bytes((server / name).read_bytes())
        tv_utils.extract_archive(str(Path(download_root) / name))

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", fake_download_and_extract)
    root = tmp_path / "root"
    check_fake(load_raw("fashion_mnist", root, download=True), expected)
    assert sorted(u.rsplit("/", 1)[-1] for u in fetched) == sorted(f"{n}.gz" for n in FASHION_NAMES)
    assert all(u.startswith(datasets.FASHION_MNIST_URL) for u in fetched)


def test_fashion_mnist_bad_image_size(tmp_path):
    with pytest.raises(ValueError, match="28"):
        load_raw("fashion_mnist", tmp_path, download=False, image_size=32)


def test_fashion_mnist_real_files(tmp_path):
    """The real dataset from Debian's package: 60,000 training images (6,000 per class) and the
    10,000 official test images (1,000 per class), labels 0..9, decompressed and MD5-checked."""
    system = Path(datasets.dataset_files.FASHION_MNIST_SYSTEM_DIR)
    if not all((system / f"{n}.gz").is_file() for n in FASHION_NAMES):
        pytest.skip(f"Debian's package dataset-fashion-mnist is not installed (no {system}/*.gz); "
                    "`apt-get install dataset-fashion-mnist` (.ci/run installs it)")
    raw = load_raw("fashion_mnist", tmp_path, download=False)
    (xtr, ytr), (xte, yte) = raw.sources["train"], raw.sources["test"]
    assert xtr.shape == (60000, 1, 28, 28) and xte.shape == (10000, 1, 28, 28)
    assert xtr.dtype == torch.uint8 and ytr.dtype == torch.int64
    assert torch.bincount(ytr, minlength=10).tolist() == [6000] * 10
    assert torch.bincount(yte, minlength=10).tolist() == [1000] * 10
    assert int(ytr.min()) == 0 and int(ytr.max()) == 9
    assert int(xtr.max()) == 255 and int(xtr.min()) == 0
    # the Debian package's .gz are recompressed (archive MD5s differ from the official ones) but
    # their content is the official files: torchvision's reader on root gives the same tensors
    ds = tv_mnist.FashionMNIST(str(tmp_path), train=True)
    assert torch.equal(ds.data, xtr[:, 0]) and torch.equal(ds.targets, ytr)
