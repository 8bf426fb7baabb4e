"""Code shared by every problem, one module per concern (nothing is re-exported here: import from
the module).

* :mod:`utils.cli`: one-line errors (:class:`~utils.cli.UserError`), shared flags, progress bars.
* :mod:`utils.runtime`: data and results directories, device, seeds, library versions.
* :mod:`utils.files`: atomic writes (CSV, JSON, npz), hashes, verified downloads.
* :mod:`utils.training`: resumable training runs (checkpoints, log, Ctrl-C), random state.
* :mod:`utils.report`: figures and LaTeX values for the report.

Conventions:
* Data directory: ``--data-dir`` flag, else ``$A3_DATA_DIR``, else ``./data`` (also the download
  cache).
* Results directory: ``--results-dir`` flag, else ``$A3_RESULTS_DIR``, else ``./results``.
  Each script writes under ``<results>/<problem>/``; the report reads from there.
* Bad input raises :class:`~utils.cli.UserError`; :func:`~utils.cli.cli` turns it into one ``error:
  ...`` line and exit code 2.
"""
