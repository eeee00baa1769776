"""Chapter 12's generative runs: temperature sampling, the language model's generation loop (with the book's two
bugs fixed), the VAE's and GAN's sizes and steps, the GAN collapse detector, their data, and `dlwp generate`."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from dlwp_cli import console, pipeline
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.main import main
from dlwp_tasks.generative.collapse import collapse_epoch, collapse_verdict
from dlwp_tasks.generative.images import tile
from dlwp_tasks.generative.sampling import (
    distinct_share,
    reweight_distribution,
    repeats_trigram,
    sample_next,
)
from dlwp_tasks.models.generative import DcganBody, VaeBody
from dlwp_tasks.models.language_model import LanguageModel, words_of

from shared_data import SHARED_DATASETS, shared_file


def entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


# ----------------------------------------------------------------------------- reweighting and sampling


def test_reweighting_sums_to_one_returns_the_input_at_1_and_its_entropy_rises_with_the_temperature():
    original = np.array([0.5, 0.25, 0.15, 0.07, 0.03, 0.0])
    assert np.allclose(reweight_distribution(original, 1.0), original, atol=1e-12)
    entropies = []
    for temperature in (0.1, 0.2, 0.5, 0.7, 1.0, 1.5, 3.0):
        reweighted = reweight_distribution(original, temperature)
        assert reweighted.sum() == pytest.approx(1.0, abs=1e-12)
        assert reweighted[-1] == 0.0     # an impossible token stays impossible
        entropies.append(entropy(reweighted))
    assert all(a < b for a, b in zip(entropies, entropies[1:])), entropies
    assert reweight_distribution(original, 0.01)[0] == pytest.approx(1.0)   # the greedy limit


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan")])
def test_a_temperature_that_is_not_above_zero_is_refused(temperature):
    with pytest.raises(ValueError, match="above 0"):
        reweight_distribution([0.5, 0.5], temperature)


def test_sampling_applies_the_temperature_and_never_draws_excluded_ids():
    p = np.array([0.1, 0.6, 0.3])
    rng = np.random.default_rng(0)
    cold = [sample_next(p, 0.05, rng) for _ in range(200)]
    hot = [sample_next(p, 5.0, rng) for _ in range(2000)]
    assert set(cold) == {1}
    assert 0.2 < np.mean(np.array(hot) == 0) < 0.45   # about 1/3 at high temperature, 0.1 at T = 1
    assert 1 not in {sample_next(p, 1.0, rng, exclude=[1]) for _ in range(200)}


def test_distinct_share_and_repeated_trigrams():
    assert distinct_share("a b c d".split()) == 1.0
    assert distinct_share("a a b b".split()) == 0.5
    assert repeats_trigram("the movie is the movie is".split())
    assert not repeats_trigram("the movie is a movie".split())


# ----------------------------------------------------------------------------- the language model's loop


def successor_model(vocabulary: list[str], sequence_length: int = 8) -> LanguageModel:
    """A network whose next-token distribution at every position is the id after that position's token: reading
    the wrong position shows in the generated words."""
    size = len(vocabulary)
    inputs = keras.Input(shape=(None,), dtype="int64", name="tokens")
    shifted = np.roll(np.eye(size), 1, axis=1) * 30.0   # row i -> a peak at i + 1
    x = keras.layers.Embedding(size, size, embeddings_initializer=keras.initializers.Constant(shifted))(inputs)
    head = keras.layers.Dense(size, activation="softmax", name="head", use_bias=False,
                              kernel_initializer=keras.initializers.Identity())
    return LanguageModel(keras.Model(inputs, head(x)), vocabulary, sequence_length)


VOCABULARY = ["", "[UNK]", "this", "movie", "is", "a", "great", "film", "and", "i"]


def test_each_word_is_read_at_the_last_token_of_the_sentence_not_at_the_step():
    model = successor_model(VOCABULARY)
    text, said = model.generate_text("This movie", temperature=0.01, length=4, seed=0)
    # "movie" (id 3) -> "is" (4) -> "a" -> "great" -> "film". The book's loop reads position i at step i: it would
    # continue "this" (position 0) with "movie" and then repeat the prompt's successors.
    assert text == "This movie is a great film"
    assert said == []


def test_the_window_without_padding_gives_the_padded_windows_distribution():
    """generate_texts feeds only the tokens so far; the causal mask makes that equal to the book's window padded
    to the context length, read at the last token."""
    from dlwp_tasks.models.head import Head
    from dlwp_tasks.models.language_model import decoder_network

    keras.utils.set_random_seed(3)
    network = decoder_network(30, 12, embed_dim=8, dense_dim=16, num_heads=2, head=Head(30, "softmax"))
    model = LanguageModel(network, [f"w{i}" for i in range(30)], 12)
    tokens = np.random.default_rng(0).integers(2, 30, size=(3, 5))
    padded = np.zeros((3, 12), dtype="int64")
    padded[:, :5] = tokens
    np.testing.assert_allclose(model._distributions(tokens, 4), model._distributions(padded, 4), atol=1e-6)


def test_the_prompt_is_printed_as_typed_and_a_long_one_keeps_its_last_words():
    model = successor_model(VOCABULARY, sequence_length=3)
    text, said = model.generate_text("This  movie IS a Great!", temperature=0.01, length=1, seed=0)
    assert text.startswith("This  movie IS a Great! ") and text.endswith(" film")
    assert said and "5 words" in said[0] and "last 3" in said[0]


def test_generation_is_repeatable_with_a_seed_and_masks_special_ids_when_asked():
    model = successor_model(VOCABULARY)
    first = model.generate_texts("this", [1.0, 1.5], length=6, seed=4)[0]
    assert first == model.generate_texts("this", [1.0, 1.5], length=6, seed=4)[0]
    model.mask_special = True
    uniform = successor_model(["", "[UNK]", "x"])   # after "x" (id 2) comes id 0 (padding): masked, so "x" again
    uniform.mask_special = True
    assert uniform.generate_text("x", 0.01, length=3, seed=0)[0] == "x x x x"
    assert words_of("It's GREAT, isn't it?") == ["its", "great", "isnt", "it"]


def test_a_prompt_without_words_is_refused():
    with pytest.raises(ValueError, match="no words"):
        successor_model(VOCABULARY).generate_text("?!", 1.0, 3)


def test_the_language_model_saves_and_reloads_with_its_vocabulary(tmp_path):
    model = successor_model(VOCABULARY)
    model.save(tmp_path / "lm.keras")
    loaded = keras.models.load_model(tmp_path / "lm.keras", compile=False)
    assert loaded.vocabulary == VOCABULARY and loaded.sequence_length == 8
    assert loaded.generate_text("this", 0.01, 2, seed=0)[0] == "this movie is"


# ----------------------------------------------------------------------------- VAE, GAN and the collapse check


def test_the_vae_and_dcgan_have_the_books_sizes():
    vae = VaeBody().build((28, 28, 1))
    assert {k: m.count_params() for k, m in vae.parts().items()} == {"encoder": 69076, "decoder": 65089}
    gan = DcganBody().build((64, 64, 3))
    assert {k: m.count_params() for k, m in gan.parts().items()} == {"discriminator": 404801, "generator": 3979651}


def test_an_image_the_networks_cannot_halve_enough_is_refused_with_the_multiple():
    with pytest.raises(ValueError, match="multiples of 8"):
        DcganBody().build((60, 60, 3))
    with pytest.raises(ValueError, match="multiples of 4"):
        VaeBody().build((2, 2, 1))


def test_a_gan_step_updates_each_network_with_its_own_optimizer_only():
    gan = DcganBody(discriminator_filters=[8, 8, 8], generator_start_filters=8, generator_filters=[8, 8, 8],
                    latent_dim=4).build((16, 16, 3))
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    images = np.random.default_rng(0).random((6, 16, 16, 3)).astype("float32")
    before = {name: [w.numpy().copy() for w in part.trainable_weights] for name, part in gan.parts().items()}
    logs = gan.train_on_batch(images, return_dict=True)
    assert set(logs) == {"d_loss", "g_loss"} and all(np.isfinite(list(logs.values())))
    for name, part in gan.parts().items():
        changed = [not np.array_equal(a, w.numpy()) for a, w in zip(before[name], part.trainable_weights)]
        assert all(changed), name
    assert gan.d_optimizer.iterations.numpy() == 1 and gan.g_optimizer.iterations.numpy() == 1


def test_a_gan_saves_and_reloads_with_its_settings(tmp_path):
    from dlwp_cli.loading import load_model

    gan = DcganBody(discriminator_filters=[8, 8, 8], generator_start_filters=8, generator_filters=[8, 8, 8],
                    latent_dim=4, samples=3).build((16, 16, 3))
    gan.save(tmp_path / "gan.keras")
    loaded = load_model(tmp_path / "gan.keras", compile=False)
    assert (loaded.latent_dim, loaded.samples, loaded.label_noise) == (4, 3, 0.05)
    assert np.allclose(loaded.generate_images(2, seed=1), gan.generate_images(2, seed=1))


def test_the_collapse_detector_fires_on_three_epochs_of_a_winning_discriminator():
    d = [0.6, 0.4, 0.04, 0.03, 0.01, 0.02]
    g = [0.9, 1.5, 5.5, 6.0, 7.2, 8.0]
    assert collapse_epoch(d, g) == 5                      # epochs 3, 4, 5
    assert collapse_epoch(d, g, epochs=4) == 6
    assert collapse_epoch(d, [1.0] * 6) is None            # the generator keeps up: no collapse
    assert collapse_epoch([0.04, 0.5, 0.04, 0.04], [6, 6, 6, 6]) is None   # the run restarts after a break
    verdict = collapse_verdict(d, g, d_loss_below=0.05, g_loss_above=5.0, epochs=3)
    assert verdict == {"rule": {"d_loss_below": 0.05, "g_loss_above": 5.0, "epochs": 3}, "detected": True,
                       "epoch": 5}


def test_tiling_puts_images_row_by_row():
    images = np.stack([np.full((2, 3, 1), i / 4) for i in range(5)])
    grid = tile(images, columns=3)
    assert grid.shape == (4, 9, 1) and grid.dtype == np.uint8
    assert grid[0, 3, 0] == 64 and grid[2, 0, 0] == 191 and grid[2, 6, 0] == 0   # image 1, image 3, an empty cell


# ----------------------------------------------------------------------------- data


def test_celeba_reads_the_staged_faces_unlabelled_and_centre_cropped(monkeypatch):
    shared_file("celeba/img_align_celeba_first32.tar")
    from dlwp_tasks.datasets.celeba import load_celeba

    splits = load_celeba(data_dir=SHARED_DATASETS, image_size=(64, 64), download=False)
    assert splits.x_train.shape == (32, 64, 64, 3) and splits.x_train.dtype == np.uint8
    assert splits.y_train is None and splits.info["files"][0]["sha256"].startswith("1cad3978")


def test_imdb_reviews_become_shifted_language_model_sequences(tmp_path):
    from dlwp_tasks.datasets.corpus import load_imdb_lm

    root = tmp_path / "aclImdb"
    words = [f"w{i}" for i in range(40)]
    for split in ("train", "test"):
        for label in ("neg", "pos", "unsup"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(5):
                review = " ".join(words[(i + len(label)) % 7:][:25])
                (folder / f"{i}_1.txt").write_text(f"{review}<br /><br />the END.", encoding="utf-8")
    (root / "train" / "urls_pos.txt").write_text("http://a\nhttp://b\n", encoding="utf-8")   # not a review
    splits = load_imdb_lm(root, vocab_size=30, sequence_length=12, download=False)
    x, y = splits.x_train["tokens"], splits.y_train
    assert x.shape == (30, 11) and y.shape == (30, 11)      # every review of train/ and test/, unsup included
    assert np.array_equal(x[:, 1:], y[:, :-1])            # the target is the input shifted by one word
    assert splits.vocabulary[:2] == ["", "[UNK]"] and len(splits.vocabulary) == 30
    assert "br" not in splits.vocabulary and "http" not in " ".join(splits.vocabulary)   # "<br />" removed


def test_a_users_corpus_is_a_folder_of_files_or_a_file_of_lines(tmp_path):
    from dlwp_tasks.datasets.corpus import load_text_corpus
    from dlwp_tasks.errors import DataError

    folder = tmp_path / "texts"
    (folder / "deep").mkdir(parents=True)
    (folder / "a.txt").write_text("the cat sat on the mat", encoding="utf-8")
    (folder / "deep" / "b.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (folder / "empty.txt").write_text("  ", encoding="utf-8")
    splits = load_text_corpus(folder, vocab_size=50, sequence_length=6)
    assert splits.x_train["tokens"].shape == (2, 5)
    assert any("not UTF-8" in w for w in splits.warnings) and any("empty" in w for w in splits.warnings)
    lines = tmp_path / "lines.txt"
    lines.write_text("one two three\n\nfour five\n", encoding="utf-8")
    assert load_text_corpus(lines, vocab_size=50, sequence_length=4).x_train["tokens"].shape == (2, 3)
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "only.txt").write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="no non-empty .txt"):
        load_text_corpus(tmp_path / "blank", vocab_size=50, sequence_length=4)
    with pytest.raises(DataError, match="sequence_length at least 2"):
        load_text_corpus(folder, vocab_size=50, sequence_length=1)


# ----------------------------------------------------------------------------- runs and `dlwp generate`


def smoke_run(run_dir: Path, experiment: str, *overrides: str) -> dict:
    cfg = compose_validated([f"experiment={experiment}", "debug=smoke", "output.console=false", *overrides])
    pipeline.run(cfg, run_dir, choices={})
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> tuple[Path, dict]:
    run_dir = tmp_path_factory.mktemp("vae")
    return run_dir, smoke_run(run_dir, "ch12/vae_mnist")


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory) -> tuple[Path, dict]:
    run_dir = tmp_path_factory.mktemp("lm")
    # A small model and vocabulary: these tests are about sampling and generate (the smoke test runs the book's size).
    return run_dir, smoke_run(run_dir, "ch12/textgen_transformer_imdb", "task.vocab_size=300", "model.embed_dim=16",
                              "model.dense_dim=32")


def test_a_vae_run_logs_both_losses_and_writes_its_latent_grid(vae_run):
    from PIL import Image

    run_dir, metrics = vae_run
    assert set(metrics["history"]) == {"total_loss", "reconstruction_loss", "kl_loss"}
    assert metrics["parameters_by_model"] == {"encoder": 69076, "decoder": 65089}
    assert metrics["train_examples"] == 70000           # train and test digits, as the book
    assert metrics["samples"] == ["samples/epoch_001.png"] and "test" not in metrics
    assert Image.open(run_dir / "latent_grid.png").size == (840, 840)


def test_generate_decodes_samples_of_a_vae_run_into_a_new_png(vae_run, capsys):
    from PIL import Image

    run_dir, _ = vae_run
    assert main(["generate", str(run_dir), "--samples", "9", "--seed", "2"]) == 0
    first = Path(capsys.readouterr().out.strip())
    assert main(["generate", str(run_dir), "--samples", "9", "--seed", "2"]) == 0
    second = Path(capsys.readouterr().out.strip())
    assert first.parent == run_dir / "generated" and first != second
    assert Image.open(first).size == (84, 84)            # 3 x 3 digits of 28 x 28
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(second)))   # the same seed


def test_predict_sends_a_generative_run_to_generate(vae_run, capsys):
    run_dir, _ = vae_run
    assert main(["predict", str(run_dir), "x.npy"]) == 2
    assert "use dlwp generate" in capsys.readouterr().err


def test_a_language_model_run_samples_every_epoch_and_generates_from_a_prompt(lm_run, capsys):
    run_dir, metrics = lm_run
    assert metrics["parameters"] < 30000 and len(metrics["history"]["loss"]) == 1
    assert "== temperature 1.5 ==" in (run_dir / "samples" / "epoch_001.txt").read_text()
    assert [row["temperature"] for row in metrics["text_samples"]["by_temperature"]] == [0.2, 0.5, 0.7, 1.0, 1.5]
    assert main(["generate", str(run_dir), "--prompt", "This movie", "--temperature", "0.7", "--length", "12",
                 "--seed", "5"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("This movie ") and len(first.split()) == 14
    assert main(["generate", str(run_dir), "--prompt", "This movie", "--temperature", "0.7", "--length", "12",
                 "--seed", "5"]) == 0
    assert capsys.readouterr().out == first


@pytest.mark.parametrize(("flags", "message"), [
    (["--prompt", "This movie", "--temperature", "0"], "must be above 0"),
    (["--prompt", "This movie", "--temperature", "-2"], "must be above 0"),
    (["--samples", "4"], "generates text"),
    (["--prompt", "   "], "Give the words"),
])
def test_bad_generate_options_get_a_clear_message(lm_run, capsys, flags, message):
    run_dir, _ = lm_run
    assert main(["generate", str(run_dir), *flags]) == 2
    assert message in capsys.readouterr().err


def test_generate_refuses_a_run_whose_model_cannot_generate(vae_run, tmp_path, capsys):
    import shutil

    from omegaconf import OmegaConf

    classifier = tmp_path / "classifier"
    shutil.copytree(vae_run[0], classifier)
    cfg = OmegaConf.load(classifier / "config.yaml")
    cfg.model = {"_target_": "dlwp_tasks.models.dense.DenseNet", "units": [16]}
    OmegaConf.save(cfg, classifier / "config.yaml")
    assert main(["generate", str(classifier), "--samples", "3"]) == 2
    assert "cannot generate" in capsys.readouterr().err


# ----------------------------------------------------------------------------- DeepDream and style transfer


def test_the_octaves_and_the_style_schedule_follow_the_book():
    from dlwp_tasks.generative.deepdream import octave_shapes
    from dlwp_tasks.generative.style_transfer import book_schedule

    assert octave_shapes((300, 400), 3, 1.4) == [(153, 204), (214, 285), (300, 400)]
    schedule = book_schedule()
    assert float(schedule(0)) == pytest.approx(100.0)
    assert float(schedule(4000)) == pytest.approx(19.54, abs=0.01)   # the book's "about 20"


def test_the_style_loss_keeps_the_books_hard_coded_three_channels():
    import tensorflow as tf

    from dlwp_tasks.generative.style_transfer import gram_matrix, style_loss

    rng = np.random.default_rng(0)
    a, b = (tf.constant(rng.random((4, 5, 8)), dtype="float32") for _ in range(2))
    gram_difference = (gram_matrix(a) - gram_matrix(b)).numpy()
    assert gram_matrix(a).shape == (8, 8)
    expected = (gram_difference ** 2).sum() / (4 * 3 ** 2 * 20 ** 2)   # channels = 3, not the layer's 8
    assert float(style_loss(a, b, size=20)) == pytest.approx(expected, rel=1e-5)


def test_a_picture_run_without_its_files_stops_naming_the_setting(tmp_path):
    from dlwp_tasks.datasets.picture import load_picture
    from dlwp_tasks.errors import DataError

    with pytest.raises(DataError, match="task.image=PATH"):
        load_picture(None)
    picture = tmp_path / "p.png"
    from PIL import Image

    Image.fromarray(np.zeros((40, 60, 3), dtype=np.uint8)).save(picture)
    with pytest.raises(DataError, match="task.style_image=PATH"):
        load_picture(picture, needs_style=True)
    with pytest.raises(DataError, match="task.style_image .*missing.png' does not exist"):
        load_picture(picture, tmp_path / "missing.png", needs_style=True)
    both = load_picture(picture, picture, image_height=20)
    assert both.x_train.shape == (2, 20, 30, 3)            # the style reference at the picture's size


def test_a_picture_too_small_for_the_dream_gives_the_minimum_size(tmp_path):
    from dlwp_tasks.errors import DataError

    cfg = compose_validated(["experiment=ch12/deepdream_inception_v3", "debug=smoke", "output.console=false",
                             "task.synthetic.height=120", "task.synthetic.width=160"])
    with pytest.raises(DataError, match=r"120x160 pixels, too small .* at least 210x210"):
        pipeline.run(cfg, tmp_path / "run", choices={})


def small_gan(tmp_path, *overrides):
    """A DCGAN config for a user's folder of 8 unlabelled 20x24 pictures, read at 16x16, with a small generator."""
    from PIL import Image

    folder = tmp_path / "faces" / "any"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return compose_validated(["task=image_folder", f"task.path={tmp_path / 'faces'}", "task.labels=none",
                              "task.image_size=[16,16]", "model=dcgan", "model.generator_filters=[16,16,16]",
                              "model.samples=4", "trainer=generative", "batch_size=4", "output.console=false",
                              *overrides])


def test_a_gan_trains_on_a_users_unlabelled_image_folder(tmp_path, caplog):
    from PIL import Image

    cfg = small_gan(tmp_path, "task.crop_to_aspect_ratio=true", "epochs=2")
    run_dir = tmp_path / "run"
    console.log.addHandler(caplog.handler)  # on the dlwp logger itself: whatever the root logger's handlers are
    try:
        pipeline.run(cfg, run_dir, choices={})
    finally:
        console.log.removeHandler(caplog.handler)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["train_examples"] == 8 and len(metrics["history"]["d_loss"]) == 2
    assert metrics["samples"] == ["samples/epoch_001.png", "samples/epoch_002.png"]
    assert metrics["collapse"]["detected"] is False and metrics["collapse"]["rule"]["epochs"] == 3
    assert Image.open(run_dir / "samples.png").size == (32, 32)   # 4 samples of 16 x 16 in a 2 x 2 grid
    assert "EarlyStopping watches val_loss" in caplog.text   # image_folder's early stopping: no validation here


def test_a_gan_interrupted_after_an_epoch_resumes_and_ends_as_the_uninterrupted_run(tmp_path, monkeypatch):
    """Both optimizers' states, the latent noise's seed state and the collapse watcher's losses come back from
    the epoch backup: the resumed run's losses, sample grids and weights are the uninterrupted run's."""
    from PIL import Image

    from dlwp_cli.training.generative import EpochSamples

    cfg = small_gan(tmp_path, "epochs=3", "deterministic=true", "output.tensorboard=false")
    pipeline.run(cfg, tmp_path / "whole", choices={})

    written = EpochSamples.on_epoch_end

    def stop_after_epoch_2(self, epoch, logs=None):
        written(self, epoch, logs)
        if epoch == 1:  # epoch 2 is backed up (the backup callback comes first) and its grid written
            raise KeyboardInterrupt

    with monkeypatch.context() as interrupted:
        interrupted.setattr(EpochSamples, "on_epoch_end", stop_after_epoch_2)
        with pytest.raises(KeyboardInterrupt):
            pipeline.run(cfg, tmp_path / "resumed", choices={})
    pipeline.run(cfg, tmp_path / "resumed", choices={})

    whole, resumed = (json.loads((tmp_path / run / "metrics.json").read_text()) for run in ("whole", "resumed"))
    assert resumed["resumed"] is True and "resumed" not in whole
    for key in ("d_loss", "g_loss"):
        assert len(resumed["history"][key]) == 3
        np.testing.assert_allclose(resumed["history"][key], whole["history"][key], rtol=1e-5)
    assert resumed["samples"] == whole["samples"] == [f"samples/epoch_00{e}.png" for e in (1, 2, 3)]
    assert resumed["collapse"] == whole["collapse"]
    grids = [np.asarray(Image.open(tmp_path / run / "samples.png"), dtype=float) for run in ("whole", "resumed")]
    np.testing.assert_allclose(grids[1], grids[0], atol=1)
