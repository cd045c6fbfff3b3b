"""Stage ingest: decode one raw video completely, check it, and record what later stages need."""

import sys

from h2h.core.stage import StageRun, run_stage
from h2h.preprocess.ingest import IngestParams, validate_video

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "path", "out")

    def work(run: StageRun) -> None:
        facts = validate_video(args.path, IngestParams.from_params(run.params))
        run.manifest.update(facts)
        run.frames = facts["frame_count"]
        run.metrics.update(frame_count=facts["frame_count"], frames_used=facts["frames"],
                           width=facts["width"], height=facts["height"], video_fps=facts["fps"])

    return run_stage("ingest", args.video, args.out, work, sections=("ingest",))


if __name__ == "__main__":
    sys.exit(main())
