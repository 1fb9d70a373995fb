"""skglai: GreenLightningAI (GLAI) for scikit-learn.

GLAI trains a small MLP until its ReLU activation patterns are stable, freezes
those patterns, rewrites the network as a sum over input-to-output paths and
optimises only the path values, a convex problem, pruned to the parameter
count of the MLP it replaces.
"""

from ._classes import GLAIClassifier, GLAIRegressor
from ._persistence import load, save

__version__ = "0.1.0"

__all__ = ["GLAIClassifier", "GLAIRegressor", "load", "save", "__version__"]
