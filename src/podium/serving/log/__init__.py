"""The inference log: every answer a deployment gave, written off the request path.

:class:`~podium.serving.log.writer.InferenceLogWriter` buffers the records and appends
them to the Delta table ``monitoring.inference_log``; a ``podium serve`` replica, which
has no lake, parks them in the spool (:mod:`.spool`) for a platform process to commit.
"""
