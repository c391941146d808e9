"""The feature store of one project (``p.features``): definitions, training sets, online reads.

Entities, feature views, on-demand views and feature services are declared in Python
(:mod:`.definitions`, Feast's nouns) and applied as versioned definitions;
``get_historical_features`` builds point-in-time correct training sets from the lake
(:mod:`.historical`, :mod:`.offline`); ``materialize`` and ``push`` fill the online store
(:mod:`.online`: SQLite or Redis), which serving reads per request.
:class:`~podium.features.service.FeatureStore` implements the interface of
:mod:`.protocol`; the HTTP client implements it remotely.
"""
