"""Content-addressed artifact store: blobs by sha256, on a local folder or S3.

Open one by URL and give each project its own root::

    store = open_artifact_store("s3://bucket/podium").child("projects/churn")
    info = store.put(b"...")          # BlobInfo(digest="9f86...", size=3)
    data = store.get(info.digest)     # verified against the digest on every read
"""

from podium.store.artifacts.base import ArtifactStore, BlobInfo, ResealableStore
from podium.store.artifacts.factory import open_artifact_store
from podium.store.artifacts.local import LocalArtifactStore
from podium.store.artifacts.s3 import S3ArtifactStore

__all__ = [
    "ArtifactStore",
    "BlobInfo",
    "LocalArtifactStore",
    "ResealableStore",
    "S3ArtifactStore",
    "open_artifact_store",
]
