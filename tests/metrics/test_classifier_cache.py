import torch

from condgan.data import ImageData, load_dataset
from condgan.metrics.classifier import cache_dir, cached_classifier


def small_data() -> ImageData:
    test = load_dataset("mnist", "test")
    return ImageData(test.images[:256].clone(), test.labels[:256].clone(), test.class_names)


def entries() -> set:
    folder = cache_dir() / "classifiers"
    return set(folder.glob("tiny-*")) if folder.is_dir() else set()


def test_cache_is_keyed_by_data_content_and_damaged_entries_are_retrained():
    data = small_data()
    first = cached_classifier(data, "tiny", epochs=1, verbose=False)
    (entry,) = entries()
    again = cached_classifier(data, "tiny", epochs=1, verbose=False)
    for key, value in first.state_dict().items():
        assert torch.equal(value, again.state_dict()[key])
    # One changed pixel is a different dataset: a new entry, the old one is not used.
    data.images[0, 0, 14, 14] ^= 0xFF
    cached_classifier(data, "tiny", epochs=1, verbose=False)
    assert len(entries()) == 2
    # A damaged entry is never trusted: it is replaced by a freshly trained one.
    entry.write_bytes(b"garbage")
    data.images[0, 0, 14, 14] ^= 0xFF
    retrained = cached_classifier(data, "tiny", epochs=1, verbose=False)
    assert entry.stat().st_size > 1000
    for key, value in first.state_dict().items():
        assert torch.equal(value, retrained.state_dict()[key])  # same data, same seed: same model


def test_training_a_classifier_leaves_the_global_rng_alone():
    from condgan.metrics.classifier import train_classifier

    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    train_classifier(small_data(), epochs=1)
    assert torch.equal(torch.rand(3), expected)


def test_the_shipped_mnist_judge_is_the_one_mnist_gets(tmp_path, monkeypatch):
    """Its file name is the cache key of the bundled MNIST: a change to the data, the
    architecture version or the training defaults must ship a new judge, not silently retrain."""
    from importlib import resources

    from condgan.data import load_dataset
    from condgan.metrics.classifier import accuracy, cache_key

    monkeypatch.setenv("CONDGAN_CACHE_DIR", str(tmp_path))
    train = load_dataset("mnist", "train")
    shipped = resources.files("condgan.metrics") / "weights" / f"mnist-{cache_key(train, 0, 5)}.safetensors"
    assert shipped.is_file()
    judge = cached_classifier(train, "mnist", verbose=False)
    assert not (tmp_path / "classifiers").exists()  # loaded, not trained
    assert accuracy(judge, load_dataset("mnist", "test")) >= 0.994


def test_a_classifier_that_has_embedded_images_is_cached_and_judges_the_same():
    """embed() leaves the conv weights channels-last; the cache stores them contiguous."""
    from condgan.metrics.classifier import DomainCNN, embed, shipped_or_cached

    data = small_data()
    model = DomainCNN(1, 10)
    before = embed(model, data.images)[0]
    loaded = shipped_or_cached(DomainCNN(1, 10), "tiny-embedded", lambda: model, None)  # fit() returns it
    torch.testing.assert_close(
        embed(shipped_or_cached(DomainCNN(1, 10), "tiny-embedded", None, None), data.images)[0], before
    )
    assert loaded is model
