"""Streaming: a deployment's answers for a stream of events, and feature events ingested.

``podium stream DEPLOYMENT --from URL --to URL`` (:mod:`.predictor`) scores an input
stream micro-batch by micro-batch through a serving runtime; ``podium features ingest
VIEW --from URL`` (:mod:`.features`) pushes a stream of feature rows into the feature
store (online and offline in one step). Both run on :class:`.consumer.StreamConsumer`
over Redis Streams (:mod:`.redis_streams`) or NATS JetStream (:mod:`.nats_streams`),
chosen by the URL (:mod:`.urls`).
"""
