"""The ``podium`` command line: a Typer app with one module per command group.

``app`` builds the root and turns every :class:`~podium.errors.PodiumError` into an
``error:`` line and a ``hint:`` line; its command groups are imported only when they run
(``lazy_group``), so ``podium --help`` stays fast; ``context`` is the one place settings
are read and an installation or platform is opened; ``render`` holds how things look
(tables, times).
"""
