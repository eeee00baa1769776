"""``dlwp viz gradcam``: where in the image the model found its predicted class (Grad-CAM, listings 9.20-9.27),
as a heatmap and the heatmap laid over the image, with the top classes."""

from __future__ import annotations

import numpy as np

from dlwp_cli.errors import ConfigError
from dlwp_cli.viz.layers import Found, find_layer, image_layers, layer_kinds, probe
from dlwp_cli.viz.output import Rendered
from dlwp_cli.viz.pictures import as_rgb, colour_map, resized
from dlwp_cli.viz.subject import Picture, Subject

TOP = 3
OVERLAY = 0.4   # listing 9.27: heatmap * 0.4 + image


def _spread(found: Found) -> bool:
    """Whether the layer's output has more than one position (a 1x1 map locates nothing)."""
    height, width = found.layer.output.shape[1:3]
    return height is None or width is None or height * width > 1


def choose_layer(model, name: str | None) -> Found:
    """``--layer NAME``, else the last layer with an image-shaped output of more than one position (the book's
    ``block14_sepconv2_act``)."""
    if name:
        return find_layer(model, name)
    candidates = [found for found in image_layers(model) if _spread(found)]
    if not candidates:
        raise ConfigError(f"The model has no layer with an image-shaped (batch, height, width, channels) output "
                          f"to explain (its layers: {layer_kinds(model)}).")
    return candidates[-1]


def class_scores(outputs: np.ndarray) -> tuple[int, list[tuple[int, float]]]:
    """(the predicted class, the top classes with probabilities) of one example's outputs; a single sigmoid unit
    is two classes, p(1) = the output."""
    outputs = np.asarray(outputs, dtype="float64").ravel()
    if outputs.size == 1:
        p = float(outputs[0])
        ranked = [(1, p), (0, 1.0 - p)] if p > 0.5 else [(0, 1.0 - p), (1, p)]
        return ranked[0][0], ranked
    order = np.argsort(-outputs)[:TOP]
    return int(order[0]), [(int(i), float(outputs[i])) for i in order]


def heatmap(subject: Subject, picture: Picture, layer: Found) -> tuple[np.ndarray, np.ndarray, int]:
    """(heatmap in [0, 1] over the layer's grid, the model's outputs, the explained class): the layer's channels
    weighted by the mean gradient of the class score, averaged, negatives cut (listings 9.24-9.26)."""
    import tensorflow as tf

    model = subject.model
    if not subject.classifier or isinstance(model.output_shape, list) or len(model.output_shape) != 2:
        raise ConfigError(f"Grad-CAM explains a classifier with one output of class probabilities (softmax or "
                          f"sigmoid); the model of '{subject.name}' is not one (outputs {model.output_shape}).")
    batch = tf.constant(picture.batch)
    with probe([layer]) as outputs, tf.GradientTape() as tape:
        predictions = model(batch, training=False)
        activation = outputs.get(layer.path)
        if activation is None:
            raise ConfigError(f"Layer '{layer.path}' is not on the model's path from input to prediction: pick "
                              "another with --layer NAME.")
        predicted, _ = class_scores(predictions.numpy()[0])
        # A sigmoid unit explains its predicted class: p for class 1, 1 - p for class 0.
        score = (predictions[:, 0] if predicted == 1 else 1.0 - predictions[:, 0]) if predictions.shape[-1] == 1 \
            else predictions[:, predicted]
    grads = tape.gradient(score, activation)
    if grads is None:
        raise ConfigError(f"The prediction does not depend on layer '{layer.path}': pick a layer before the "
                          "classifier with --layer NAME.")
    pooled = tf.reduce_mean(grads, axis=(0, 1, 2))
    weighted = tf.reduce_mean(activation[0] * pooled, axis=-1).numpy()
    weighted = np.maximum(weighted, 0)
    peak = weighted.max()
    return (weighted / peak if peak > 0 else weighted), predictions.numpy()[0], predicted


def overlay(heat: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the jet-coloured heatmap at the image's size, heatmap * 0.4 + image stretched to 0..255; listing 9.27)."""
    height, width = image.shape[:2]
    jet = resized(colour_map(np.uint8(255 * heat), "jet"), height, width)
    blended = jet.astype("float64") * OVERLAY + as_rgb(image).astype("float64")
    blended -= blended.min()
    blended *= 255.0 / max(blended.max(), 1e-12)
    return jet, blended.round().astype(np.uint8)


def render(subject: Subject, picture: Picture, layer: Found) -> Rendered:
    heat, predictions, predicted = heatmap(subject, picture, layer)
    _, top = class_scores(predictions)
    names = subject.class_names

    def label(index: int) -> str:
        return names[index] if names and index < len(names) else str(index)

    jet, superimposed = overlay(heat, picture.original)
    rows = [{"class": label(i), "index": i, "probability": round(p, 6)} for i, p in top]
    summary = {"image": picture.source, "layer": layer.path, "explained_class": label(predicted),
               "explained_index": predicted, "heatmap_size": list(heat.shape), "top_classes": rows}
    lines = [f"image: {picture.source}", f"layer: {layer.path} (heatmap {heat.shape[0]}x{heat.shape[1]})",
             "top classes:"]
    lines += [f"  {row['class']}\t{row['probability']:.4f}\t(class {row['index']})" for row in rows]
    return Rendered(pictures={"heatmap.png": jet, "superimposed.png": superimposed},
                    documents={"top_classes.json": summary}, lines=lines)
