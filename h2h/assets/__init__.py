"""The third-party files the pipeline reads and no package ships (the ICT-FaceKit face model, the
MediaPipe canonical face, the sample clips): where each comes from, pinned by checksum, and
``h2h assets``, which puts them in the project's git-ignored ``assets/`` folder."""
