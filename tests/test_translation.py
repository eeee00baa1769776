"""Translation (§11.5): sentence pairs, the two models' sizes, greedy decoding against the book's loop, BLEU, the
most-frequent-token baseline, a run end to end with `dlwp predict`, and the bad inputs (malformed pairs files,
empty texts)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dlwp_cli.commands.predict import predict_command
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.main import main
from dlwp_tasks.datasets.spa_eng import load_text_pairs, read_pair_file, split_pairs
from dlwp_tasks.translation.bleu import corpus_bleu
from dlwp_tasks.translation.codec import PairCodec, adapted_vocabulary, wrap_target

from shared_data import shared_file

WORDS = [f"w{i}" for i in range(6)]


def pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """A toy language: 2 to 4 words ``wK``, each translated ``vK``."""
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(n):
        words = [WORDS[i] for i in rng.integers(0, len(WORDS), rng.integers(2, 5))]
        made.append((" ".join(words), " ".join("v" + w[1:] for w in words)))
    return made


def write_pairs(path, rows: list[str]):
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- BLEU and text


def test_bleu_is_the_hand_computed_corpus_bleu():
    candidates = ["the cat sat on the mat".split(), "he reads a good book".split()]
    references = ["the cat is on the mat".split(), "he reads a good book today".split()]
    # p1 = (5 + 5) / (6 + 5), p2 = (3 + 4) / (5 + 4), p3 = (1 + 3) / (4 + 3), p4 = (0 + 2) / (3 + 2);
    # c = 11 < r = 12, so BP = exp(1 - 12 / 11).
    expected = math.exp(1 - 12 / 11) * (10 / 11 * 7 / 9 * 4 / 7 * 2 / 5) ** 0.25
    found = corpus_bleu(candidates, references)
    assert found["score"] == pytest.approx(expected, rel=1e-12)
    assert found["score"] == pytest.approx(0.578948, abs=1e-6)
    assert found["precisions"] == pytest.approx([10 / 11, 7 / 9, 4 / 7, 2 / 5])
    assert corpus_bleu([["a", "b", "c", "d"]], [["a", "b", "c", "d"]])["score"] == 1.0
    clipped = corpus_bleu([["the"] * 4], [["the", "cat"]])
    assert clipped["precisions"][0] == 0.25 and clipped["score"] == 0.0   # no matching bigram: BLEU 0


def test_target_standardization_keeps_the_markers_and_strips_the_inverted_question_mark():
    from dlwp_tasks.translation.codec import target_standardization

    standardized = target_standardization(["[start] ¿Dónde está, Tom?! [end]"]).numpy()[0].decode()
    assert standardized == "[start] dónde está tom [end]"
    codec = PairCodec(["", "[UNK]", "where", "is"], ["", "[UNK]", "[start]", "[end]", "dónde", "está"], 4)
    assert codec.target_ids([wrap_target("¿Dónde está?")]).tolist() == [[2, 4, 5, 3, 0]]
    assert codec.source_ids(["Where is Tom?"]).tolist() == [[2, 3, 1, 0]]   # default: punctuation stripped too


# ----------------------------------------------------------------------------- pairs files


def test_the_book_split_of_the_real_file():
    found = read_pair_file(_spa_txt())
    assert len(found.pairs) == 118_964 and not found.malformed
    texts = split_pairs(found.pairs, 0.15, 0.15, seed=1337)
    assert [len(texts[s]) for s in ("train", "validation", "test")] == [83_276, 17_844, 17_844]
    assert texts == split_pairs(found.pairs, 0.15, 0.15, seed=1337)   # seeded
    assert sorted(texts["train"] + texts["validation"] + texts["test"]) == sorted(found.pairs)


def _spa_txt():
    from dlwp_tasks.datasets.spa_eng import spa_eng_file

    archive = shared_file("spa_eng/spa-eng.zip")
    return spa_eng_file(str(archive.parents[1]), download=False)[0]


def test_max_pairs_keeps_the_first_training_pairs_and_the_whole_validation_split(tmp_path):
    file = write_pairs(tmp_path / "pairs.txt", [f"{s}\t{t}" for s, t in pairs(200)])
    full = load_text_pairs(str(file))
    subset = load_text_pairs(str(file), max_pairs=25)
    assert [len(full.texts[s]) for s in ("train", "validation", "test")] == [140, 30, 30]
    assert subset.texts["train"] == full.texts["train"][:25]
    assert subset.texts["validation"] == full.texts["validation"] and subset.texts["test"] == full.texts["test"]
    (inputs, target), = subset.x_train.batch(64).take(1)
    assert inputs["source"].shape == (25, 20) and inputs["target"].shape == (25, 20) and target.shape == (25, 20)
    assert inputs["source"].dtype.name == "int64"
    source, ids = subset.ids["train"]
    np.testing.assert_array_equal(inputs["target"], ids[:, :-1])   # teacher forcing: the target shifted by one
    np.testing.assert_array_equal(target, ids[:, 1:])
    assert (ids[:, 0] == subset.codec.start_id).all()


def test_malformed_lines_are_skipped_with_their_line_numbers(tmp_path):
    rows = [f"{s}\t{t}" for s, t in pairs(250)]     # 2 malformed lines of 253: 0.8 %, below 1 %
    rows.insert(40, "a line without a tab")           # line 41
    rows.insert(99, "only a source\t   ")             # line 100
    rows.insert(120, "")                              # a blank line is not a pair, nor malformed
    file = write_pairs(tmp_path / "pairs.txt", rows + ["w1 w2\tv2 v1\tCC-BY 2.0 (France) attribution"])
    with file.open("ab") as fh:
        fh.write("caf\u00e9\tcaf\u00e9\n".encode("latin-1"))   # line 255, not UTF-8
    found = read_pair_file(file)
    assert found.malformed == [41, 100] and len(found.pairs) == 252 and found.undecodable == [255]
    assert found.pairs[-2] == ("w1 w2", "v2 v1")      # a third column (Anki's attribution) is ignored
    assert found.pairs[-1] == ("caf\ufffd", "caf\ufffd")
    splits = load_text_pairs(str(file))
    assert splits.warnings == [
        "pairs.txt: 2 malformed line(s) skipped (no tab, or an empty side): lines 41, 100.",
        "pairs.txt: 1 line(s) are not valid UTF-8 and were read with replacement characters: line 255."]
    assert sum(len(p) for p in splits.texts.values()) == 252


def test_a_mostly_malformed_file_stops_the_run_before_its_folder_is_made(tmp_path, capsys):
    rows = [f"{s}\t{t}" for s, t in pairs(100)] + ["one, two", "three; four"]   # 2 of 102 lines: 1.96 %
    file = write_pairs(tmp_path / "pairs.csv", rows)
    run_dir = tmp_path / "run"
    assert main(["run", "task=text_pairs", f"task.path={file}", f"hydra.run.dir={run_dir}"]) == 2
    message = capsys.readouterr().err
    assert "2 of the 102 lines" in message and "lines 101, 102" in message and "1%" in message
    assert not run_dir.exists()


# ----------------------------------------------------------------------------- models and decoding


@pytest.mark.parametrize(("model", "count"), [("gru_seq2seq", 34_869_912), ("transformer_seq2seq", 19_960_216)])
def test_the_books_parameter_counts(model, count):
    from dlwp_cli.training.modeling import heads, model_body

    cfg = compose_validated(["experiment=ch11/translation_transformer", f"model={model}"])
    body = model_body(cfg.model).build({"english": (20,), "spanish": (20,)}, heads(cfg.task))
    assert body.count_params() == count
    assert [t.name for t in body.inputs] == ["english", "spanish"]


TINY = {"gru_seq2seq": {"embed_dim": 16, "latent_dim": 32},
        "transformer_seq2seq": {"embed_dim": 16, "dense_dim": 32, "num_heads": 2, "sequence_length": 8}}


@pytest.fixture(scope="module")
def toy():
    """A toy corpus's codec and ids (vocabularies of 40, sequences of 8)."""
    made = pairs(300)
    codec = PairCodec(adapted_vocabulary([s for s, _ in made], 40, target=False),
                      adapted_vocabulary([wrap_target(t) for _, t in made], 40, target=True), 8, 40)
    return made, codec, codec.source_ids([s for s, _ in made]), codec.target_ids([wrap_target(t) for _, t in made])


@pytest.fixture(scope="module", params=sorted(TINY))
def tiny_model(request, toy):
    """A tiny model of each kind, trained a few epochs on the toy corpus."""
    import keras

    from dlwp_tasks.models.head import Head
    from dlwp_tasks.models.seq2seq import GruSeq2Seq, TransformerSeq2Seq

    keras.utils.set_random_seed(0)
    _, _, source, target = toy
    body = {"gru_seq2seq": GruSeq2Seq, "transformer_seq2seq": TransformerSeq2Seq}[request.param]
    model = body(vocab_size=40, source_name="en", target_name="es", **TINY[request.param]).build(
        {"en": (8,), "es": (8,)}, Head(40, "softmax"))
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit({"en": source, "es": target[:, :-1]}, target[:, 1:], epochs=6, batch_size=32, verbose=0)
    return request.param, model


def book_loop(model, codec: PairCodec, sentence: str, transformer: bool) -> list[str]:
    """Listings 11.31 / 11.38 as the book writes them: strings re-vectorised at every step."""
    index_lookup = dict(enumerate(codec.target_vocabulary))
    tokenized = codec.source_ids([sentence])
    decoded = "[start]"
    for i in range(codec.sequence_length):
        target = codec.target_ids([decoded])
        target = target[:, :-1] if transformer else target
        predictions = np.asarray(model({"en": tokenized, "es": target}, training=False))
        token = index_lookup[int(np.argmax(predictions[0, i, :]))]
        decoded += " " + token
        if token == "[end]":
            break
    return decoded.split()


def test_greedy_decoding_gives_the_books_loop_output(tiny_model, toy):
    from dlwp_tasks.translation.decoding import book_greedy_decode, greedy_decode

    name, model = tiny_model
    made, codec, _, _ = toy
    sentences = [s for s, _ in made[:5]] + ["w1 w2 unknown"]
    expected = [book_loop(model, codec, s, transformer=name.startswith("transformer")) for s in sentences]
    ids = codec.source_ids(sentences)
    fast = greedy_decode(model, ids, codec.start_id, codec.end_id, 8, batch=4)
    assert [codec.words(row) for row in fast] == expected
    assert [codec.words(row) for row in book_greedy_decode(model, ids, codec.start_id, codec.end_id, 8)] == expected
    assert all(tokens[0] == "[start]" and tokens[-1] == "[end]" and len(tokens) > 2 for tokens in expected)
    assert sum(tokens[1:-1] == ["v" + w[1:] for w in s.split()] for s, tokens in zip(sentences, expected)) >= 2


def test_the_baseline_counts_the_tokens_keras_accuracy_counts(tiny_model, toy):
    """Keras counts the positions whose decoder input is not padding (the one after [end] included)."""
    from types import SimpleNamespace

    from dlwp_tasks.translation.reports import most_frequent_token

    _, model = tiny_model
    _, codec, source, target = toy
    predicted = np.asarray(model({"en": source, "es": target[:, :-1]}, training=False)).argmax(axis=-1)
    counted = target[:, :-1] != 0
    scores = model.evaluate({"en": source, "es": target[:, :-1]}, target[:, 1:], verbose=0, return_dict=True)
    assert scores["accuracy"] == pytest.approx(np.mean(predicted[counted] == target[:, 1:][counted]), abs=1e-6)
    splits = SimpleNamespace(ids={"train": (source[:200], target[:200]), "validation": (source[200:], target[200:])})
    baseline = most_frequent_token(splits, codec)
    train_tokens = target[:200, 1:][target[:200, :-1] != 0]
    best = np.bincount(train_tokens).argmax()
    val_tokens = target[200:, 1:][target[200:, :-1] != 0]
    assert baseline == {"token": codec.target_vocabulary[best], "split": "validation",
                        "accuracy": pytest.approx(np.mean(val_tokens == best))}


# ----------------------------------------------------------------------------- a run, then predict


@pytest.fixture(scope="module")
def pairs_run(tmp_path_factory):
    from dlwp_cli import pipeline

    folder = tmp_path_factory.mktemp("pairs")
    file = write_pairs(folder / "toy.txt", [f"{s}\t{t}" for s, t in pairs(120)])
    cfg = compose_validated(["task=text_pairs", f"task.path={file}", "model=gru_seq2seq", "model.embed_dim=8",
                             "model.latent_dim=16", "task.vocab_size=40", "task.sequence_length=8", "epochs=1",
                             "task.samples=[w1 w2 w3, w4 w5]", "task.bleu_pairs=7", "output.console=false",
                             "output.tensorboard=false"])
    run_dir = folder / "run"
    return run_dir, pipeline.run(cfg, run_dir, choices={})


def test_a_run_saves_its_translations_bleu_and_baseline(pairs_run):
    run_dir, metrics = pairs_run
    lines = (run_dir / "translations.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[0] for line in lines] == ["w1 w2 w3", "w4 w5"]
    assert all(line.split("\t")[1].startswith("[start]") for line in lines)
    translation = metrics["translation"]
    assert [s["source"] for s in translation["samples"]] == ["w1 w2 w3", "w4 w5"]
    assert translation["bleu"]["pairs"] == 7 and 0 <= translation["bleu"]["score"] <= 1
    assert len((run_dir / "test_translations.tsv").read_text(encoding="utf-8").splitlines()) == 1 + 7
    assert 0 < metrics["baselines"]["most_frequent_token"] < 1
    assert metrics["data"]["input_kind"] == "sentence_pairs" and "val_accuracy" in metrics["history"]
    schema = json.loads((run_dir / "schema.json").read_text(encoding="utf-8"))
    assert schema["pairs"] == {"train": 84, "validation": 18, "test": 18} and schema["sequence_length"] == 8


def test_predict_translates_as_the_run_did(pairs_run, capsys):
    run_dir, metrics = pairs_run
    assert predict_command(str(run_dir), ["w1 w2 w3", "w4 w5"]) == 0
    printed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    expected = [" ".join(t for t in s["translation"].split() if t not in ("[start]", "[end]"))
                for s in metrics["translation"]["samples"]]
    assert printed == [["w1 w2 w3", expected[0]], ["w4 w5", expected[1]]]   # the reloaded model decodes the same


@pytest.mark.parametrize("text", ["", "  ", "?!"])
def test_predict_refuses_an_empty_text(pairs_run, text, capsys):
    run_dir, _ = pairs_run
    assert main(["predict", str(run_dir), text]) == 2
    assert "Text 1" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the pipeline's preparation


def test_named_integer_inputs_stay_integers_and_datasets_give_dict_shapes():
    import tensorflow as tf

    from dlwp_cli.training.features import element_shape, named_input

    assert named_input(np.array([[1, 2]], dtype=np.int64)).dtype == np.int64
    assert named_input(np.array([[1.5]], dtype=np.float64)).dtype == np.float32
    ds = tf.data.Dataset.from_tensor_slices(({"a": np.zeros((3, 5), "int64"), "b": np.zeros((3, 4), "int64")},
                                             np.zeros((3, 5), "int64")))
    assert element_shape(ds.element_spec[0]) == {"a": (5,), "b": (4,)}
