"""Stage identity: a video's average identity over its training frames (paper 3.2, Fig. 1), the
identity every NMFC of that person is rendered with."""

import sys

import numpy as np
import pandas as pd

from h2h.core.outputs import read_manifest
from h2h.core.stage import StageRun, run_stage
from h2h.face3d.fit_table import identities_of
from h2h.face3d.identity import IdentityParams, average_identity

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "fit", "out")

    def work(run: StageRun) -> None:
        fit = read_manifest(args.fit, "fit")
        table = pd.read_parquet(f"{args.fit}/fit.parquet")
        start, stop = fit["split"]["train"]
        identity = average_identity(table, IdentityParams.from_params(run.params).trim,
                                    frames=range(start, stop))
        np.save(run.out / "identity.npy", identity)
        measured = table["valid"].to_numpy(bool) & ~table["interpolated"].to_numpy(bool)
        spread = float(np.linalg.norm(identities_of(table)[measured] - identity, axis=1).mean())
        run.manifest.update(frames=stop - start, coefficients=len(identity),
                            per_frame_spread=spread, norm=float(np.linalg.norm(identity)))
        run.frames = stop - start
        run.metrics.update(per_frame_spread=spread, identity_norm=float(np.linalg.norm(identity)))

    return run_stage("identity", args.video, args.out, work, sections=("identity",))


if __name__ == "__main__":
    sys.exit(main())
