"""Stage flow: optical flow between real frames at the strides the dynamics discriminator uses
(paper 3.4), OpenCV DIS, stored as float16."""

import sys

import numpy as np

from h2h.core.outputs import read_manifest
from h2h.core.stage import StageRun, run_stage
from h2h.media.video import read_video
from h2h.preprocess.flow import FlowParams, clip_flows, save_flows

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "crop", "out")

    def work(run: StageRun) -> None:
        params = FlowParams.from_params(run.params)
        crop = read_manifest(args.crop, "crop")
        size = params.size
        frames = read_video(f"{args.crop}/frames.mkv", size=(size, size))
        flows = clip_flows(frames, params.strides, params.preset)
        save_flows(run.out / "flows.npz", flows)
        run.manifest.update(fps=crop["fps"], frames=len(frames), size=size,
                            strides=list(params.strides), split=crop["split"])
        run.frames = len(frames)
        run.metrics.update({f"mean_flow_px_stride{stride}": float(np.abs(flow).mean())
                            for stride, flow in flows.items()})

    return run_stage("flow", args.video, args.out, work, sections=("flow",))


if __name__ == "__main__":
    sys.exit(main())
