"""Model registry: versions, flavors, signatures, stages, lineage and optimization.

Flavors (``podium.registry.flavors``) turn a model into bytes and back; a signature
(``podium.registry.signature``) records and checks the columns a model expects; and
``podium.registry.conversion`` converts scikit-learn models to ONNX and compares them.
"""
