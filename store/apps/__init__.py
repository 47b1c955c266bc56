"""The seed systems, one package per app (see ``../shared/seeds``).

Each ``store.apps.<name>`` exports ``MODELS`` (dependency order) and is
named in ``store.project.SEED_APPS``; its migrations live in the checkout's
``migrations/<name>/``, shipped in the wheel as ``store.seed_migrations``
(``store.project`` finds them: a user's project names a seed app in its
``[store] apps`` like any app of its own).
"""
