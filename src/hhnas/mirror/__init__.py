"""A read-only Optuna view of every search: one JournalStorage per ``results/``.

The state and metrics files stay the truth; the journal (``results/optuna/journal.log``) is a
copy that optuna-dashboard and pandas users read. Each search iteration job brings its own
experiment's study up to date after writing its state file (:func:`hhnas.mirror.sync.sync_study`,
called from hhnas.jobs.iteration when ``execution.optuna_mirror`` is on), and
``python -m hhnas.mirror sync`` makes the whole journal equal to the files again, idempotently.
Nothing in the search reads the journal.

Modules: ``lock`` (the journal's lock), ``journal`` (opening the storage, repairing a tail cut
by a kill), ``trials`` (study names and trials from the files), ``sync`` (bringing studies up
to date), ``cli`` (``sync`` and ``dashboard``).
"""
