"""Per-video preprocessing before any 3D (paper 4.1, 3.3): ingest, face detection and the
fixed crop box, 68 landmarks and pupils, eye sketches, optical flow between real frames.

One module per stage (``ingest``, ``crop``, ``landmarks``, ``eyes``, ``flow``), plus the
detectors and dlib model files they share.
"""
