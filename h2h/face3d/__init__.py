"""3D facial recovery (paper 3.1-3.2): the ICT-FaceKit 3DMM and its Face Mesh correspondence
(``face_model``), the per-frame fit (``fit``), the video's average identity (``identity``), NMFC
rendering (``nmfc``) and the pictures to check a fit (``preview``)."""
