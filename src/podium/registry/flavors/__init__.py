"""Flavors: how each kind of model is saved to bytes and loaded back.

``flavor_for(model)`` picks the flavor that saves a model (``onnx``, ``sklearn`` or
``pyfunc``); ``get_flavor(name)`` returns the one a stored version names; and
:class:`PodiumModel` wraps any loaded model behind one ``predict``/``predict_proba``.
"""

from podium.registry.flavors.base import Flavor
from podium.registry.flavors.lookup import FLAVORS, flavor_for, get_flavor
from podium.registry.flavors.model import PodiumModel

__all__ = ["FLAVORS", "Flavor", "PodiumModel", "flavor_for", "get_flavor"]
