"""Sphinx configuration for the skglai documentation."""

import skglai

project = "skglai"
author = "The skglai developers"
release = version = skglai.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.intersphinx"]
autosummary_generate = True
exclude_patterns = ["_build"]
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
}
html_theme = "alabaster"
