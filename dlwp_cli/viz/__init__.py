"""Pictures of what a trained convnet sees (``dlwp viz``): augmented copies of an image (book §8.2.5),
intermediate activations, filter patterns and Grad-CAM heatmaps (§9.4), one module per kind."""

KINDS = ("activations", "filters", "gradcam", "augmentation")
