"""Stage report: every evaluation as Markdown tables like the paper's (ablations per target,
cross-person reenactments), best values marked."""

import sys

from h2h.core.stage import StageRun, run_stage
from h2h.evaluation.report import report

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "evaluations", "out")

    def work(run: StageRun) -> None:
        (run.out / "report.md").write_text(report(args.evaluations))
        run.artifacts.append("report.md")

    return run_stage("report", "all", args.out, work, sections=(), tags={})


if __name__ == "__main__":
    sys.exit(main())
