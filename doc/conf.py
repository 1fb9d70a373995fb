"""Sphinx configuration for the skglai documentation.

Build with ``make -C doc html`` (warnings are errors). The gallery executes
``examples/plot_*.py`` into ``doc/auto_examples``; the build needs nothing
from the network.
"""

import os
import warnings

import skglai

project = "skglai"
author = "The skglai developers"
copyright = "The skglai developers"
release = version = skglai.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax shipped with the docs (copied to _static), so formulas render offline.
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
# .md files are only ever included (the benchmark table), never pages.
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "benchmarks/*.md", "sg_execution_times.rst"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"skglai {release}"
html_theme_options = {"navigation_with_keys": False, "secondary_sidebar_items": ["page-toc"]}
html_show_sourcelink = False
# Pages without subpages have nothing for the "Section Navigation" sidebar:
# drop it there; their sections are listed under "On this page".
html_sidebars = {"user_guide": [], "benchmarks": [], "changelog": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
# sphinx_gallery_conf holds a function (the torch thread reset), which
# Sphinx cannot pickle into its environment cache; that is harmless.
suppress_warnings = ["config.cache"]

_torch_threads = None


def _reset_torch_threads(gallery_conf, fname):
    """Examples may change torch's thread count: restore it before each one."""
    import torch

    global _torch_threads
    if _torch_threads is None:
        _torch_threads = torch.get_num_threads()
    torch.set_num_threads(_torch_threads)


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # The README's side-by-side script is run by hand, not a gallery page.
    "ignore_pattern": r"glai_vs_mlp_digits\.py",
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib", _reset_torch_threads),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
}

# Examples print what they measure; keep library noise out of the pages.
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")
os.environ.setdefault("MPLBACKEND", "agg")
