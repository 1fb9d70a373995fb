"""Progress bars for ``verbose > 0``: one tqdm bar per training phase.

:func:`phase_progress` is a context manager yielding the callback
``report(step, loss, extra)`` that :func:`~skglai._structure.fit_structure`
and :class:`~skglai._solvers.Monitor` call once per epoch or iteration
(``None`` when quiet, so nothing is printed or imported). The bar is closed
on the way out, also when the fit raises. ``tqdm.auto`` draws a widget in
Jupyter when ipywidgets is installed and a text bar on stderr otherwise.
"""

from contextlib import contextmanager

# Postfix name of the ``extra`` value each phase reports.
EXTRA_NAMES = {"structure": "gate flips", "quantities": "val score"}


@contextmanager
def phase_progress(verbose, phase, total, description=None):
    """Yield a ``report(step, loss, extra)`` callback drawing a tqdm bar.

    Parameters
    ----------
    verbose : int or bool
        Nothing is shown (and ``None`` is yielded) when falsy.
    phase : {'structure', 'quantities'}
        Which phase reports: names the ``extra`` value in the postfix.
    total : int
        Most steps the phase can run (its epoch or iteration cap).
    description : str, default=None
        Text before the bar; ``phase`` when None.

    Yields
    ------
    report : callable or None
        ``report(step, loss, extra)`` moves the bar to ``step`` and shows
        ``loss`` and ``extra`` (skipped when None) in the postfix.

    Examples
    --------
    >>> from skglai._progress import phase_progress
    >>> with phase_progress(0, "structure", total=3) as report:
    ...     report is None
    True
    """
    if not verbose:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(
        total=total,
        desc=description or phase,
        unit="epoch" if phase == "structure" else "it",
        leave=True,
    )
    extra_name = EXTRA_NAMES.get(phase, "extra")

    def report(step, loss, extra):
        postfix = {"loss": f"{loss:.4g}"}
        if extra is not None:
            postfix[extra_name] = f"{extra:.4f}"
        bar.set_postfix(postfix, refresh=False)
        bar.update(step - bar.n)

    try:
        yield report
    except BaseException:
        bar.close()
        raise
    # A phase that stopped before its cap finished normally: show it full
    # (a notebook bar closed short of its total turns red).
    bar.total = bar.n
    bar.refresh()
    bar.close()
