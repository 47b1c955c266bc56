"""The seed systems, one package per app (see ``../shared/seeds``).

Each ``store.apps.<name>`` exports ``MODELS`` (dependency order) and is
listed in ``setup.cfg [store] apps``; its migrations live in
``migrations/<name>/``.
"""
