"""Flow-warping error: a temporal-consistency metric that needs no pretrained weights.

The paper measures temporal quality with FVD (Table 3), whose I3D weights no package ships (see
:mod:`h2h.evaluation.metrics.fvd`). This metric is always available: for consecutive frames, warp frame t+1
back onto frame t with the optical flow t -> t+1 and average the absolute difference,

    E = mean_t mean_p |warp(gen_{t+1}, flow(t -> t+1))(p) - gen_t(p)|   (0-255 scale, RGB).

Which flow: the flow of the *real* video (the flow stage's stride-1 output, the same flow the
Dynamics Discriminator is conditioned on). Under self reenactment the generated video should move
like the real one, so warping it with the real motion leaves only flicker, drift and motion that
deviates from the real video. The same error on the real video itself is the floor the flow
method's own inaccuracy (occlusions, lighting, DIS errors) sets; the reported value is the ratio,
1.0 = as consistent as the real footage. Under cross-identity reenactment there is no real
counterpart; pass the generated video's own flow (:func:`h2h.preprocess.flow.clip_flows`) to
:func:`warping_error` instead, which then measures flicker only. No occlusion mask is applied:
occluded pixels raise both errors alike and largely cancel in the ratio.
"""

from __future__ import annotations

import numpy as np

from h2h.evaluation.metrics.per_frame import PerFrame, frame_mean
from h2h.preprocess.flow import warp


def warping_error(frames: np.ndarray, flows: np.ndarray) -> PerFrame:
    """Per frame pair t, t+1 the mean absolute RGB difference of ``frames[t]`` and
    ``frames[t + 1]`` warped back with ``flows[t]`` (flow t -> t+1); N - 1 values."""
    if len(flows) != len(frames) - 1 or flows.shape[1:3] != frames.shape[1:3]:
        raise ValueError(
            f"expected {len(frames) - 1} flows of size {frames.shape[1:3]}, got {flows.shape}"
        )
    errors = np.array(
        [
            np.abs(warp(frames[t + 1], flows[t]).astype(np.float32) - frames[t]).mean()
            for t in range(len(flows))
        ]
    )
    return frame_mean(errors)


def relative_warping_error(fake: np.ndarray, real_flows: np.ndarray,
                           real_error: float) -> tuple[float, PerFrame]:
    """Warping error of the generated video relative to the real one's (``real_error``, its
    :func:`warping_error` with the same ``real_flows``): 1.0 = as temporally consistent as the
    real video, higher = worse; NaN when the real video's error is 0 (a still image), where the
    ratio means nothing. Also the generated video's per-frame-pair errors."""
    error = warping_error(fake, real_flows)
    return (error.mean / real_error if real_error > 0 else float("nan")), error
